/**
 * How long some work holds the event loop: a ticker beside it notes the longest gap between two turns of the loop,
 * which is how long a hook call arriving meanwhile would have waited. For a response, a real HTTP server in this
 * process answers a client in another process (so the client's own reading is not counted).
 */
import { spawn } from 'node:child_process';
import { createServer } from 'node:http';
import type { ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

/** One piece of work: its whole time and the longest hold of the loop while it ran, both in ms. */
export interface Hold {
  readonly totalMs: number;
  readonly longestMs: number;
}

/** Starts a ticker; `stop` ends it and says what it saw. */
function ticker(): { stop(): Hold } {
  const started = performance.now();
  let last = started;
  let longest = 0;
  let running = true;
  const tick = (): void => {
    const now = performance.now();
    longest = Math.max(longest, now - last);
    last = now;
    if (running) setImmediate(tick);
  };
  setImmediate(tick);
  return {
    stop: () => {
      running = false;
      const end = performance.now();
      return { totalMs: end - started, longestMs: Math.max(longest, end - last) };
    },
  };
}

/**
 * The longest hold of the event loop while some work in this process is under way.
 * @param work - the work.
 * @returns its times.
 */
export async function holdDuring(work: () => Promise<unknown>): Promise<Hold> {
  const watch = ticker();
  await work();
  return watch.stop();
}

/**
 * Serves `times` requests, one after another, each answered by `respond`.
 * @param times - how many requests the client makes.
 * @param respond - writes the whole response.
 * @returns each response's times.
 */
export async function loopHolds(times: number, respond: (res: ServerResponse) => Promise<void>): Promise<Hold[]> {
  const holds: Hold[] = [];
  const server = createServer((_req, res) => {
    const watch = ticker();
    res.on('finish', () => holds.push(watch.stop()));
    void respond(res);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${String((server.address() as AddressInfo).port)}/`;
  const client = `for (let i = 0; i < ${String(times)}; i++) await (await fetch(${JSON.stringify(url)})).arrayBuffer();`;
  try {
    await new Promise<void>((resolve, reject) => {
      const child = spawn(process.execPath, ['--input-type=module', '-e', client], { stdio: 'inherit' });
      child.on('error', reject);
      child.on('exit', (code) => (code === 0 ? resolve() : reject(new Error(`the client exited with ${String(code)}`))));
    });
  } finally {
    await new Promise((resolve) => server.close(resolve));
  }
  return holds;
}
