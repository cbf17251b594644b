/**
 * Runs `step` again and again in the background, `gapMs` after each one ends, until
 * `stop()`; that resolves, once the step under way is done, with every result that was
 * not undefined, in order.
 */
export function repeatUntilStopped<T>(step: () => Promise<T | undefined>, gapMs: number): { stop: () => Promise<T[]> } {
  let stopped = false;
  const done = (async () => {
    const results: T[] = [];
    while (!stopped) {
      const result = await step();
      if (result !== undefined) results.push(result);
      await new Promise((resolve) => setTimeout(resolve, gapMs));
    }
    return results;
  })();
  return {
    stop: () => {
      stopped = true;
      return done;
    },
  };
}
