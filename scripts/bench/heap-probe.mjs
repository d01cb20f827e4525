// Loaded into the service by `npm run bench` only (`node --import ./scripts/bench/heap-probe.mjs`). It appends
// "<kind> <ms since epoch> <bytes> <pause ms> <new space bytes> <external bytes>" lines to the file named by
// BENCH_HEAP_FILE (the last two, the young generation's current size and the memory outside the heap that V8 counts,
// such as Buffers, are the two usual reasons for frequent full collections with a small live heap):
// - "major" after each full collection the service does on its own (observed, so the load is not disturbed), with
//   the heap in use just after it and how long the collection took;
// - "forced" on SIGUSR2, only when the service runs with --expose-gc: a full collection now, then the heap in use.
//   The bench sends it to the soak's service before the soak's load starts and after it ends, never during it (a
//   forced collection stops the service for up to a few hundred ms, and the seconds after it stall). The service
//   whose latency is measured runs without --expose-gc and is only observed.
// The live heap after a full collection is what a leak grows; RSS also moves with the collector's own sizing of its
// spaces, which is why a soak's RSS alone is a sawtooth.
import { appendFileSync } from 'node:fs';
import { constants, PerformanceObserver } from 'node:perf_hooks';
import { getHeapSpaceStatistics, getHeapStatistics } from 'node:v8';

const file = process.env['BENCH_HEAP_FILE'];
if (!file) throw new Error('heap-probe needs BENCH_HEAP_FILE');
const record = (kind, pause) => {
  const newSpace = getHeapSpaceStatistics().find((space) => space.space_name === 'new_space')?.space_size ?? 0;
  appendFileSync(file, `${kind} ${Date.now()} ${getHeapStatistics().used_heap_size} ${pause.toFixed(1)} ${newSpace} ${process.memoryUsage().external}\n`);
};
// The forced collection is observed too; entries that started inside it are not recorded again as "major".
let forced = { from: -1, to: -1 };
new PerformanceObserver((list) => {
  const own = list.getEntries().filter((e) => e.detail?.kind === constants.NODE_PERFORMANCE_GC_MAJOR && (e.startTime < forced.from || e.startTime > forced.to));
  for (const entry of own) record('major', entry.duration);
}).observe({ entryTypes: ['gc'] });
if (typeof globalThis.gc === 'function') {
  process.on('SIGUSR2', () => {
    const from = performance.now();
    globalThis.gc();
    forced = { from, to: performance.now() };
    record('forced', forced.to - forced.from);
  });
}
