/**
 * CORS for browser-based CDS clients such as the CDS Hooks sandbox (CDS Hooks 2.0, "Cross-Origin Resource
 * Sharing"): any origin, no cookies, and a preflight answer on every CDS endpoint.
 */
import type { NextFunction, Request, Response } from 'express';

/**
 * CORS middleware; answers `OPTIONS` preflights itself with 204.
 * @param req - request.
 * @param res - response.
 * @param next - next middleware.
 */
export function cors(req: Request, res: Response, next: NextFunction): void {
  res.setHeader('Access-Control-Allow-Origin', '*');
  res.setHeader('Access-Control-Allow-Methods', 'GET, POST, OPTIONS');
  res.setHeader('Access-Control-Allow-Headers', 'Authorization, Content-Type, Accept, X-Request-Id');
  res.setHeader('Access-Control-Expose-Headers', 'X-Request-Id');
  if (req.method === 'OPTIONS') {
    res.setHeader('Access-Control-Max-Age', '600');
    res.status(204).end();
    return;
  }
  next();
}
