/**
 * The one error handler: an HttpError becomes its status and OperationOutcome; anything else is logged with the
 * request id and answered with a generic 500 OperationOutcome. No stack trace ever reaches a client.
 */
import type { NextFunction, Request, Response } from 'express';
import type { Logger } from '../log.js';
import { HttpError, internalError } from './outcomes.js';

/**
 * Writes an HttpError as the response.
 * @param res - the response.
 * @param error - the error.
 */
export function sendError(res: Response, error: HttpError): void {
  for (const [name, value] of Object.entries(error.headers)) res.setHeader(name, value);
  res.status(error.status).type('application/fhir+json').send(JSON.stringify(error.outcome));
}

/**
 * Builds the express error middleware (four arguments, placed after every route).
 * @param log - where unexpected faults are logged.
 * @returns the middleware.
 */
export function errorHandler(log: Logger) {
  return (err: unknown, req: Request, res: Response, _next: NextFunction): void => {
    if (res.headersSent) {
      res.end();
      return;
    }
    if (err instanceof HttpError) {
      sendError(res, err);
      return;
    }
    log.error({ requestId: res.locals['requestId'] as string, path: req.path, err: { name: (err as Error).name, message: (err as Error).message, stack: (err as Error).stack } }, 'unexpected fault');
    sendError(res, internalError());
  };
}
