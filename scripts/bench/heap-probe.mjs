// Loaded into the service by `npm run bench` only (`node --expose-gc --import ./scripts/bench/heap-probe.mjs`), for
// the soak. It appends "<kind> <ms since epoch> <bytes>" lines to the file named by BENCH_HEAP_FILE:
// - "major" after each full collection the service does on its own (observed, so the load is not disturbed), with
//   the heap in use just after it;
// - "forced" on SIGUSR2: a full collection now, then the heap in use. The bench sends it before the soak's load
//   starts and after it ends, never during it (a forced collection stops the service for up to a few hundred ms).
// The live heap after a full collection is what a leak grows; RSS also moves with the collector's own sizing of its
// spaces, which is why a soak's RSS alone is a sawtooth.
import { appendFileSync } from 'node:fs';
import { constants, PerformanceObserver } from 'node:perf_hooks';
import { getHeapStatistics } from 'node:v8';

const file = process.env['BENCH_HEAP_FILE'];
if (!file || typeof globalThis.gc !== 'function') throw new Error('heap-probe needs BENCH_HEAP_FILE and node --expose-gc');
const record = (kind) => appendFileSync(file, `${kind} ${Date.now()} ${getHeapStatistics().used_heap_size}\n`);
// The forced collection is observed too; entries that started inside it are not recorded again as "major".
let forced = { from: -1, to: -1 };
new PerformanceObserver((list) => {
  const own = list.getEntries().filter((e) => e.detail?.kind === constants.NODE_PERFORMANCE_GC_MAJOR && (e.startTime < forced.from || e.startTime > forced.to));
  if (own.length > 0) record('major');
}).observe({ entryTypes: ['gc'] });
process.on('SIGUSR2', () => {
  const from = performance.now();
  globalThis.gc();
  forced = { from, to: performance.now() };
  record('forced');
});
