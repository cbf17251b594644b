/**
 * Polls a service's /metrics on a fixed period while a scenario runs, keeping what
 * `pick` reads from each answer: the scenario asserts on the series afterwards.
 */
export interface Sample<T> {
  atMs: number;
  value: T;
}

export function sampleMetrics<T>(baseUrl: string, everyMs: number, pick: (text: string) => T): { stop: () => Promise<Sample<T>[]> } {
  const samples: Sample<T>[] = [];
  let stopped = false;
  const done = (async () => {
    while (!stopped) {
      const text = await fetchMetrics(baseUrl);
      if (text !== undefined) samples.push({ atMs: Date.now(), value: pick(text) });
      await new Promise((resolve) => setTimeout(resolve, everyMs));
    }
  })();
  return {
    stop: async () => {
      stopped = true;
      await done;
      return samples;
    },
  };
}

/** The metrics text, or undefined while the service does not answer (restarting, say). */
export async function fetchMetrics(baseUrl: string): Promise<string | undefined> {
  try {
    const res = await fetch(`${baseUrl}/metrics`, { signal: AbortSignal.timeout(5000) });
    return res.ok ? await res.text() : undefined;
  } catch {
    return undefined;
  }
}
