/**
 * JSON body parsing for the CDS endpoints: 415 for a declared non-JSON type, 413 past the size limit,
 * 400 for JSON that does not parse. A request without Content-Type is read as JSON (harmless, and curl-friendly).
 */
import express from 'express';
import type { NextFunction, Request, RequestHandler, Response } from 'express';
import { badRequest, payloadTooLarge, unsupportedMediaType } from './outcomes.js';

/** Deeper JSON than this is refused: FHIR resources nest far less, and deeper input only exhausts stacks later. */
export const MAX_JSON_DEPTH = 64;

function depthBelow(node: object, depth: number, limit: number): number {
  if (depth > limit) return depth;
  let max = depth;
  const children: unknown[] = Array.isArray(node) ? (node as unknown[]) : Object.values(node);
  for (const child of children) {
    if (typeof child !== 'object' || child === null) continue;
    const d = depthBelow(child, depth + 1, limit);
    if (d > limit) return d;
    if (d > max) max = d;
  }
  return max;
}

/**
 * The nesting depth of a parsed JSON value, stopping once past a limit (so the recursion is never deeper than the
 * limit, whatever the input).
 * @param value - the parsed value.
 * @param limit - depth at which to stop looking.
 * @returns the depth, or limit + 1 when deeper.
 */
export function jsonDepth(value: unknown, limit: number): number {
  return typeof value === 'object' && value !== null ? depthBelow(value, 1, limit) : 0;
}

function isJsonType(contentType: string): boolean {
  const type = contentType.split(';')[0]?.trim().toLowerCase() ?? '';
  return type === 'application/json' || type === 'application/fhir+json' || /^application\/[\w.-]+\+json$/.test(type);
}

/**
 * Builds the body-parsing middleware.
 * @param limit - the largest body, in bytes.
 * @returns express middleware that sets `req.body` (and `res.locals.rawBody`, the bytes) or passes an HttpError on.
 */
export function jsonBody(limit: number): RequestHandler {
  // The bytes as received stay with the response (`rawBody`), so the audit log can keep them without serializing
  // the parsed body again.
  const parse = express.json({ limit, strict: false, type: () => true, verify: (_req, res, buf) => { (res as Response).locals['rawBody'] = buf; } });
  return (req: Request, res: Response, next: NextFunction) => {
    const contentType = req.headers['content-type'];
    if (contentType !== undefined && contentType.trim() !== '' && !isJsonType(contentType)) {
      next(unsupportedMediaType(contentType.slice(0, 100)));
      return;
    }
    parse(req, res, (err?: unknown) => {
      if (err === undefined) {
        if (jsonDepth(req.body, MAX_JSON_DEPTH) > MAX_JSON_DEPTH) next(badRequest([{ code: 'structure', message: `The request body nests deeper than ${MAX_JSON_DEPTH} levels` }]));
        else next();
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
