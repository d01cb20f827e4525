/**
 * The structured log. It carries request ids, service ids, statuses and durations; never patient data, request
 * bodies, access tokens or JWTs. Redaction is a second line of defence, not the reason nothing leaks.
 */
import { pino } from 'pino';
import type { Logger } from 'pino';

export type { Logger } from 'pino';

/**
 * Creates the process logger (JSON lines on stdout).
 * @param level - pino level, `silent` to switch off.
 * @returns the logger.
 */
export function createLogger(level: string): Logger {
  return pino({
    level,
    base: { service: 'intrathecal-cds' },
    redact: {
      paths: ['req.headers.authorization', '*.access_token', '*.authorization', 'authorization', 'token', 'jwt'],
      censor: '[redacted]',
    },
  });
}
