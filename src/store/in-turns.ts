/**
 * Long work on the event loop, cut into turns: the loop also answers the hook calls, so work that is not theirs
 * (compressing audit bodies when the worker is gone, unpacking and serialising a page of the audit log for a reader)
 * holds it at most a few milliseconds at a time.
 */

/** How long such work may hold the event loop in one turn, in ms, before it lets the waiting calls in. */
const TURN_BUDGET_MS = 2;

/**
 * Maps items in order, up to TURN_BUDGET_MS per turn; between turns, whatever is waiting (a hook call's input, a
 * timer) runs first.
 * @param items - the items.
 * @param each - the work for one item, synchronous.
 * @returns the results, in the items' order.
 */
export async function mapInTurns<T, R>(items: readonly T[], each: (item: T) => R): Promise<R[]> {
  const out: R[] = [];
  let turnStart = performance.now();
  for (const item of items) {
    if (performance.now() - turnStart > TURN_BUDGET_MS) {
      await new Promise<void>((resolve) => setImmediate(resolve));
      turnStart = performance.now();
    }
    out.push(each(item));
  }
  return out;
}
