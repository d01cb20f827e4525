/**
 * Long work on the event loop, cut into turns: the loop also answers the hook calls, so work that is not theirs
 * (compressing audit bodies when the worker is gone, unpacking and serialising a page of the audit log for a reader,
 * pruning the SQLite log) holds it at most a few milliseconds at a time.
 */

/** How long such work may hold the event loop in one turn, in ms, before it lets the waiting calls in. */
const TURN_BUDGET_MS = 2;

/**
 * Runs a step again and again, up to TURN_BUDGET_MS per turn, until it says it is done; between turns, whatever is
 * waiting (a hook call's input, a timer) runs first.
 * @param step - one small piece of the work, synchronous; returns true once there is nothing left.
 */
export async function inTurns(step: () => boolean): Promise<void> {
  let turnStart = performance.now();
  while (!step()) {
    if (performance.now() - turnStart > TURN_BUDGET_MS) {
      await new Promise<void>((resolve) => setImmediate(resolve));
      turnStart = performance.now();
    }
  }
}

/**
 * Maps items in order, in turns (see inTurns).
 * @param items - the items.
 * @param each - the work for one item, synchronous.
 * @returns the results, in the items' order.
 */
export async function mapInTurns<T, R>(items: readonly T[], each: (item: T) => R): Promise<R[]> {
  const out: R[] = [];
  await inTurns(() => {
    if (out.length === items.length) return true;
    out.push(each(items[out.length] as T));
    return false;
  });
  return out;
}
