/**
 * Counts the turns of the event loop that run while some work is under way: how often the work let waiting work (a
 * hook call's input, a timer) in. Work done at once counts none.
 */

/**
 * Runs the work with a ticker beside it.
 * @param work - the work.
 * @returns its result and the turns the ticker saw meanwhile.
 */
export async function turnsDuring<T>(work: () => Promise<T>): Promise<{ result: T; turns: number }> {
  let turns = 0;
  let running = true;
  const tick = (): void => {
    if (!running) return;
    turns++;
    setImmediate(tick);
  };
  setImmediate(tick);
  const result = await work();
  running = false;
  return { result, turns };
}
