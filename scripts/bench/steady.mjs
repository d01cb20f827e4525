// Open-loop load at a steady rate for `npm run bench`, in its own process: request i is due at start + i / rate,
// whatever the answers before it did, over a pool of keep-alive connections. Latency is measured from the time a
// request was due, not from when it went out, so a generator that falls behind does not hide queueing
// (coordinated omission). autocannon's overallRate is not used for this: it lets each connection send its whole
// per-second quota back to back at the start of every second, so a "half load" run is full-load bursts and idle.
// Prints the result as JSON, in the shape load.mjs prints.
import { readFileSync } from 'node:fs';
import http from 'node:http';

const options = JSON.parse(process.argv[2]);
const body = readFileSync(options.bodyFile);
const rate = Number(options.rate);
const total = Math.floor(rate * Number(options.duration));
const agent = new http.Agent({ keepAlive: true, maxSockets: options.connections ?? 64 });
const latencies = [];
let non2xx = 0;
let errors = 0;
let done = 0;
let sent = 0;
const start = performance.now();

function send(due) {
  const req = http.request(options.url, { method: 'POST', agent, headers: { 'content-type': 'application/json', 'content-length': body.length } }, (res) => {
    res.on('data', () => {});
    res.on('end', () => {
      if (res.statusCode < 200 || res.statusCode > 299) non2xx++;
      else latencies.push(performance.now() - due);
      finish();
    });
  });
  req.on('error', () => {
    errors++;
    finish();
  });
  req.end(body);
}

let reported = false;
function finish() {
  done++;
  if (done >= total) report();
}

function report() {
  if (reported) return;
  reported = true;
  clearTimeout(deadline);
  const elapsed = (performance.now() - start) / 1000;
  latencies.sort((a, b) => a - b);
  const at = (p) => latencies[Math.min(latencies.length - 1, Math.floor(p * latencies.length))] ?? 0;
  const round = (ms) => Math.round(ms * 100) / 100;
  process.stdout.write(`${JSON.stringify({ rps: done / elapsed, p50: round(at(0.5)), p99: round(at(0.99)), p999: round(at(0.999)), max: round(latencies.at(-1) ?? 0), non2xx, errors, timeouts: total - done, total: done })}\n`);
  agent.destroy();
  process.exit(0);
}

// Bounded: whatever has not answered 30 s after the last request was due counts as timed out.
const deadline = setTimeout(report, Number(options.duration) * 1000 + 30_000);

function tick() {
  const now = performance.now();
  while (sent < total && start + (sent * 1000) / rate <= now) send(start + (sent++ * 1000) / rate);
  if (sent < total) setTimeout(tick, Math.max(0, start + (sent * 1000) / rate - performance.now()));
}

tick();
