/**
 * JSON body parsing for the CDS endpoints: 415 for a declared non-JSON type, 413 past the size limit,
 * 400 for JSON that does not parse. A request without Content-Type is read as JSON (harmless, and curl-friendly).
 */
import express from 'express';
import type { NextFunction, Request, RequestHandler, Response } from 'express';
import { badRequest, payloadTooLarge, unsupportedMediaType } from './outcomes.js';

function isJsonType(contentType: string): boolean {
  const type = contentType.split(';')[0]?.trim().toLowerCase() ?? '';
  return type === 'application/json' || type === 'application/fhir+json' || /^application\/[\w.-]+\+json$/.test(type);
}

/**
 * Builds the body-parsing middleware.
 * @param limit - the largest body, in bytes.
 * @returns express middleware that sets `req.body` or passes an HttpError on.
 */
export function jsonBody(limit: number): RequestHandler {
  const parse = express.json({ limit, strict: false, type: () => true });
  return (req: Request, res: Response, next: NextFunction) => {
    const contentType = req.headers['content-type'];
    if (contentType !== undefined && contentType.trim() !== '' && !isJsonType(contentType)) {
      next(unsupportedMediaType(contentType.slice(0, 100)));
      return;
    }
    parse(req, res, (err?: unknown) => {
      if (err === undefined) {
        next();
        return;
      }
      const type = (err as { type?: string }).type;
      if (type === 'entity.too.large') next(payloadTooLarge(limit));
      else if (type === 'encoding.unsupported' || type === 'charset.unsupported') next(unsupportedMediaType(contentType ?? ''));
      else if (type === 'entity.parse.failed') next(badRequest([{ code: 'structure', message: 'The request body is not valid JSON' }]));
      else next(badRequest([{ code: 'structure', message: 'The request body could not be read' }]));
    });
  };
}
