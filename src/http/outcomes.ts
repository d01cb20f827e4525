/**
 * The one place that builds error bodies. Every non-2xx answer of the service is a FHIR OperationOutcome
 * (CDS Hooks 2.0: "the CDS Service SHOULD include an OperationOutcome") with the status that fits.
 */
import type { OperationOutcome, OperationOutcomeIssue } from '@medplum/fhirtypes';
import { Refusal } from './refusal.js';

/** FHIR issue-type codes we use (http://hl7.org/fhir/valueset-issue-type.html). */
export type IssueCode =
  | 'invalid'
  | 'structure'
  | 'required'
  | 'value'
  | 'not-found'
  | 'not-supported'
  | 'too-long'
  | 'too-costly'
  | 'incomplete'
  | 'timeout'
  | 'transient'
  | 'security'
  | 'throttled'
  | 'exception'
  | 'processing';

/** One problem, with the place in the request it concerns (a FHIRPath-style path such as `context.draftOrders`). */
export interface Problem {
  code: IssueCode;
  message: string;
  expression?: string;
  severity?: 'error' | 'warning';
}

/**
 * An error that carries its HTTP status and OperationOutcome; thrown anywhere, answered by the error handler (with
 * no stack: a Refusal).
 */
export class HttpError extends Refusal {
  readonly status: number;
  readonly outcome: OperationOutcome;
  readonly headers: Record<string, string>;

  constructor(status: number, problems: readonly Problem[], headers: Record<string, string> = {}) {
    super(problems.map((p) => p.message).join('; '));
    this.name = 'HttpError';
    this.status = status;
    this.outcome = operationOutcome(problems);
    this.headers = headers;
  }
}

/**
 * Builds an OperationOutcome from problems.
 * @param problems - what was wrong and where.
 * @returns the OperationOutcome resource.
 */
export function operationOutcome(problems: readonly Problem[]): OperationOutcome {
  const issue: OperationOutcomeIssue[] = problems.map((p) => ({
    severity: p.severity ?? 'error',
    code: p.code,
    details: { text: p.message },
    ...(p.expression ? { expression: [p.expression] } : {}),
  }));
  return { resourceType: 'OperationOutcome', issue };
}

/** 400: the request cannot be used as it is. */
export function badRequest(problems: readonly Problem[]): HttpError {
  return new HttpError(400, problems);
}

/** 401: authentication failed; deliberately generic, details go to the server log only. */
export function unauthorized(): HttpError {
  return new HttpError(401, [{ code: 'security', message: 'Authentication required' }], {
    'WWW-Authenticate': 'Bearer',
  });
}

/** 404: no such service or path. */
export function notFound(message: string, expression?: string): HttpError {
  return new HttpError(404, [{ code: 'not-found', message, ...(expression ? { expression } : {}) }]);
}

/** 405: the path exists but not for this method. */
export function methodNotAllowed(allowed: readonly string[]): HttpError {
  return new HttpError(405, [{ code: 'not-supported', message: `Method not allowed; use ${allowed.join(', ')}` }], {
    Allow: allowed.join(', '),
  });
}

/** 412: data the service needs could not be had (CDS Hooks 2.0 prefetch rules). */
export function preconditionFailed(problems: readonly Problem[]): HttpError {
  return new HttpError(412, problems);
}

/** 413: the body is larger than the configured limit. */
export function payloadTooLarge(limit: number): HttpError {
  return new HttpError(413, [{ code: 'too-long', message: `Request body is larger than the limit of ${limit} bytes` }]);
}

/** 415: the body is not JSON. */
export function unsupportedMediaType(received: string): HttpError {
  return new HttpError(415, [
    { code: 'not-supported', message: `Content-Type "${received}" is not supported; send application/json` },
  ]);
}

/** 503: a part the service depends on (its shared database) cannot be reached now; the caller may retry. */
export function serviceUnavailable(message: string, retryS: number): HttpError {
  return new HttpError(503, [{ code: 'transient', message }], { 'Retry-After': String(retryS) });
}

/** 500: an unexpected fault; the body never carries the cause (that goes to the log). */
export function internalError(): HttpError {
  return new HttpError(500, [{ code: 'exception', message: 'Internal error; the request was logged' }]);
}
