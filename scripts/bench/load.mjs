// The load generator for `npm run bench`, in its own process: autocannon against one URL, bounded in time, with an
// optional fixed rate and an optional pool of bearer tokens used one per request. Prints the result as JSON.
import { readFileSync } from 'node:fs';
import autocannon from 'autocannon';

const options = JSON.parse(process.argv[2]);
const body = readFileSync(options.bodyFile);
const tokens = options.tokensFile ? JSON.parse(readFileSync(options.tokensFile, 'utf8')) : undefined;
let next = 0;
const result = await autocannon({
  url: options.url,
  method: 'POST',
  connections: options.connections ?? 10,
  duration: options.duration,
  ...(options.rate ? { overallRate: options.rate } : {}),
  headers: { 'content-type': 'application/json' },
  body,
  ...(tokens
    ? { requests: [{ setupRequest: (req) => ({ ...req, headers: { ...req.headers, authorization: `Bearer ${tokens[next++ % tokens.length]}` } }) }] }
    : {}),
});
process.stdout.write(`${JSON.stringify({ rps: result.requests.average, p50: result.latency.p50, p99: result.latency.p99, non2xx: result.non2xx, errors: result.errors, timeouts: result.timeouts, total: result.requests.total })}\n`);
