/**
 * The structured log. It carries request ids, service ids, statuses and durations; never patient data, request
 * bodies, access tokens or JWTs. Redaction is a second line of defence, not the reason nothing leaks.
 */
import { pino } from 'pino';
import type { DestinationStream, Logger } from 'pino';

export type { Logger } from 'pino';

/** Where the log goes: a stream (tests capture the log this way), or stdout with a bounded backlog. */
export type LogDestination = DestinationStream | { readonly maxBufferBytes: number };

/**
 * Stdout, written asynchronously, with at most `maxBufferBytes` waiting in memory. When the reader of stdout (a log
 * collector, a terminal) stops reading, lines beyond the bound are dropped and counted rather than held without
 * limit, and one warning with the count is written once the backlog has been written out.
 */
function boundedStdout(maxBufferBytes: number, logger: () => Logger): DestinationStream {
  const stream = pino.destination({ dest: 1, sync: false, maxLength: maxBufferBytes });
  let dropped = 0;
  stream.on('drop', () => {
    dropped += 1;
  });
  stream.on('drain', () => {
    if (dropped === 0) return;
    const count = dropped;
    dropped = 0;
    logger().warn({ dropped: count, maxBufferBytes }, 'log lines dropped: stdout did not keep up');
  });
  return stream;
}

/**
 * Creates the process logger (JSON lines).
 * @param level - pino level, `silent` to switch off.
 * @param destination - a stream, or stdout with the largest backlog kept in memory (LOG_BUFFER_BYTES).
 * @returns the logger.
 */
export function createLogger(level: string, destination: LogDestination): Logger {
  const options = {
    level,
    base: { service: 'intrathecal-cds' },
    redact: {
      paths: ['req.headers.authorization', '*.access_token', '*.authorization', 'authorization', 'token', 'jwt'],
      censor: '[redacted]',
    },
  };
  if ('write' in destination) return pino(options, destination);
  const log: Logger = pino(options, boundedStdout(destination.maxBufferBytes, () => log));
  return log;
}
