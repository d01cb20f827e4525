/**
 * A child process for src/log.test.ts: logs `lines` lines of about 300 bytes to stdout through the service's own
 * logger, in batches over several turns of the event loop, then tells its parent how many it wrote and waits to be
 * told to exit. The parent does not read stdout meanwhile, as a stalled log collector would not.
 * Arguments: the logger's maxBufferBytes, and the number of lines.
 */
import { createLogger } from '../../src/log.js';

const [maxBufferBytes, lines] = process.argv.slice(2).map(Number) as [number, number];
const log = createLogger('info', { maxBufferBytes });
const filler = 'x'.repeat(200);
const BATCH = 500;
let written = 0;

process.on('message', (m) => {
  if (m === 'exit') process.exit(0);
});

function batch(): void {
  for (let i = 0; i < BATCH && written < lines; i++, written++) log.info({ line: written, filler }, 'flood');
  if (written < lines) setImmediate(batch);
  else process.send?.({ written });
}
batch();
