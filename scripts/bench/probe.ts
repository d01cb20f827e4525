/**
 * Reading the heap probe's file (scripts/bench/heap-probe.mjs): the service's full collections in a window, and the
 * live heap before and after the soak.
 */
import { existsSync, readFileSync } from 'node:fs';
import { f, trend } from './numbers.js';

interface ProbeEntry {
  kind: string;
  at: number;
  mb: number;
  pause: number;
  newSpaceMb: number;
  externalMb: number;
}

/** The heap probe's lines: kind, when (ms since epoch), heap in use, pause (ms), new space size, external memory (MB). */
function probeEntries(file: string): ProbeEntry[] {
  const lines = existsSync(file) ? readFileSync(file, 'utf8').trim().split('\n').filter(Boolean) : [];
  const mb = (bytes: string | undefined): number => Number(bytes) / 2 ** 20;
  return lines.map((l) => l.split(' ')).map(([kind = '', at, used, pause, newSpace, external]) => ({ kind, at: Number(at), mb: mb(used), pause: Number(pause), newSpaceMb: mb(newSpace), externalMb: mb(external) }));
}

/** The range of a figure over collections, as "a-b" (one decimal). */
function range(entries: readonly ProbeEntry[], pick: (e: ProbeEntry) => number): string {
  const values = entries.map(pick);
  return `${f(Math.min(...values), 1)}-${f(Math.max(...values), 1)}`;
}

/** What the collector looked like at a set of full collections: pauses, young generation and external memory. */
function atCollections(entries: readonly ProbeEntry[]): string {
  return `pauses ${range(entries, (e) => e.pause)} ms, new space ${range(entries, (e) => e.newSpaceMb)} MB, external memory ${range(entries, (e) => e.externalMb)} MB`;
}

/**
 * The service's own full collections in a time window, as a phrase: how many, and the ranges of their pauses, young
 * generation and external memory.
 * @param file - the heap probe's file.
 * @param from - window start, ms since epoch.
 * @param to - window end.
 */
export function collections(file: string, from: number, to: number): string {
  const own = probeEntries(file).filter((e) => e.kind === 'major' && e.at >= from && e.at <= to);
  if (own.length === 0) return 'no full collection during the measured run';
  return `${own.length} full collection${own.length === 1 ? '' : 's'} during the measured run: ${atCollections(own)}`;
}

/**
 * The largest heap in use just after the service's own full collections in a time window, and how many there were:
 * "48.2 (3)", or "none" when it did not collect in full.
 * @param file - the heap probe's file.
 * @param from - window start, ms since epoch.
 * @param to - window end.
 */
export function liveHeapIn(file: string, from: number, to: number): string {
  const own = probeEntries(file).filter((e) => e.kind === 'major' && e.at >= from && e.at <= to);
  return own.length === 0 ? 'none' : `${f(Math.max(...own.map((e) => e.mb)), 1)} (${own.length})`;
}

/**
 * The heap probe's record as a sentence: the forced collections before the settle run and after the soak, and the
 * service's own full collections during the soak.
 * @param file - the probe's file.
 * @param probedFrom - a time just after the first forced collection.
 * @param soakStart - when the soak's load started.
 * @param requests - requests answered between the two forced collections.
 */
export function heapAfterSoak(file: string, probedFrom: number, soakStart: number, requests: number): string {
  const entries = probeEntries(file);
  const forced = entries.filter((e) => e.kind === 'forced');
  const [before, after] = [forced.at(-2), forced.at(-1)];
  if (!before || !after || before.at > probedFrom || after.at < soakStart) return 'not recorded (the heap probe did not answer).';
  const own = entries.filter((e) => e.kind === 'major' && e.at > soakStart && e.at < after.at);
  const perRequest = ((after.mb - before.mb) * 2 ** 20) / Math.max(1, requests);
  const ownTrend = own.length >= 3 ? `, trend ${f(trend(own.map((e) => [(e.at - soakStart) / 60_000, e.mb])), 2)} MB/min` : '';
  const ownPart = own.length === 0 ? 'the service did no full collection of its own during the soak' : `after the service's own ${own.length} full collections during the soak: ${own.map((e) => f(e.mb, 1)).join(', ')} MB${ownTrend}; at those collections ${atCollections(own)}`;
  return `${f(before.mb, 1)} MB after warm-up, ${f(after.mb, 1)} MB after the soak, ${f(requests)} requests later (${f(perRequest, 1)} bytes per request); ${ownPart}.`;
}
