/**
 * The audit bodies' compressor for PostgreSQL: a real worker thread and real Brotli. The one stand-in is a worker
 * that stops on its first batch, a fault the real worker (which only compresses) cannot be made to show.
 */
import { brotliDecompressSync } from 'node:zlib';
import { afterEach, describe, expect, it } from 'vitest';
import { captureLog } from '../../test/support/harness.js';
import { compressHere, compressInWorker } from './body-compressor.js';
import type { Body, BodyCompressor } from './body-compressor.js';

const toClose: BodyCompressor[] = [];
afterEach(async () => {
  for (const c of toClose.splice(0)) await c.close();
});

const started = (source?: string) => {
  const captured = captureLog();
  const compressor = compressInWorker(captured.log, source);
  toClose.push(compressor);
  return { compressor, ...captured };
};

const read = (out: (Buffer | null)[]): (string | null)[] => out.map((b) => (b === null ? null : brotliDecompressSync(b).toString()));

const batch = (n: string): Body[] => [`{"hook":"order-sign","n":"${n}"}`, new TextEncoder().encode(`bytes ${n}`), undefined, 'x'.repeat(40_000)];
const expected = (n: string): (string | null)[] => [`{"hook":"order-sign","n":"${n}"}`, `bytes ${n}`, null, 'x'.repeat(40_000)];

describe('audit body compressor', () => {
  it('compresses in the worker what the event loop would, each batch answered with its own bodies', async () => {
    const { compressor } = started();
    const [a, b, c] = await Promise.all([compressor.compress(batch('a')), compressor.compress(batch('b')), compressor.compress(batch('c'))]);
    expect(read(a ?? [])).toEqual(expected('a'));
    expect(read(b ?? [])).toEqual(expected('b'));
    expect(read(c ?? [])).toEqual(expected('c'));
    // Brotli at quality 0 is deterministic: the worker's bytes are the event loop's.
    expect(a).toEqual(await compressHere.compress(batch('a')));
    expect((a?.[3]?.length ?? Infinity) < 1000).toBe(true);
  });

  it('answers the batches out before close() settles, and compresses on the event loop after it', async () => {
    const { compressor } = started();
    const out = compressor.compress(batch('late'));
    let answered = false;
    void out.then(() => (answered = true));
    await compressor.close();
    expect(answered).toBe(true);
    expect(read(await out)).toEqual(expected('late'));
    expect(read(await compressor.compress(batch('after')))).toEqual(expected('after'));
  });

  it('when its worker stops, compresses the batches it held and every later one on the event loop, and says so once', async () => {
    const { compressor, lines } = started("require('node:worker_threads').parentPort.on('message', () => { throw new Error('worker fault'); });");
    const [first, second] = await Promise.all([compressor.compress(batch('1')), compressor.compress(batch('2'))]);
    expect(read(first ?? [])).toEqual(expected('1'));
    expect(read(second ?? [])).toEqual(expected('2'));
    expect(read(await compressor.compress(batch('3')))).toEqual(expected('3'));
    const stops = lines.filter((l) => l.includes('audit compression worker stopped'));
    expect(stops).toHaveLength(1);
    expect(stops[0]).toContain('worker fault');
  });

  it('keeps up with a saturated event loop: a batch takes a few of its turns, not one turn per body', async () => {
    // 200 bodies of about 30 KB, a seed call's size, while each turn of the loop also runs 5 ms of other work (the
    // calls a saturated service answers in a turn). One body per turn took 200 turns; the service answers ten calls
    // or so per turn, so its writer fell behind.
    const bodies = Array.from({ length: 200 }, (_, i) => JSON.stringify({ entry: Array.from({ length: 300 }, (_v, k) => ({ id: `r${String(i)}-${String(k)}`, code: k % 17, text: `intrathecal refill ${String(k * i)}` })) }));
    for (const compressor of [compressHere, started().compressor]) {
      let turns = 0;
      let busy = true;
      const turn = (): void => {
        if (!busy) return;
        turns += 1;
        const end = performance.now() + 5;
        while (performance.now() < end);
        setImmediate(turn);
      };
      setImmediate(turn);
      const out = await compressor.compress(bodies);
      busy = false;
      expect(out).toHaveLength(200);
      expect(turns).toBeLessThan(60);
    }
  });
});
