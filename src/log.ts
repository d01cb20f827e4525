/**
 * The structured log. It carries request ids, service ids, statuses and durations; never patient data, request
 * bodies, access tokens or JWTs. Redaction is a second line of defence, not the reason nothing leaks.
 */
import { pino } from 'pino';
import type { DestinationStream, Logger } from 'pino';

export type { Logger } from 'pino';

/**
 * Creates the process logger (JSON lines on stdout, or on the given stream).
 * @param level - pino level, `silent` to switch off.
 * @param destination - where to write (tests capture the log this way).
 * @returns the logger.
 */
export function createLogger(level: string, destination?: DestinationStream): Logger {
  const options = {
    level,
    base: { service: 'intrathecal-cds' },
    redact: {
      paths: ['req.headers.authorization', '*.access_token', '*.authorization', 'authorization', 'token', 'jwt'],
      censor: '[redacted]',
    },
  };
  return destination ? pino(options, destination) : pino(options);
}
