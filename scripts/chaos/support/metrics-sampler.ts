/**
 * Polls a service's /metrics on a fixed period while a scenario runs, keeping what
 * `pick` reads from each answer: the scenario asserts on the series afterwards.
 */
import { repeatUntilStopped } from '../../../testkit/polling/repeat.js';

export interface Sample<T> {
  atMs: number;
  value: T;
}

export function sampleMetrics<T>(baseUrl: string, everyMs: number, pick: (text: string) => T): { stop: () => Promise<Sample<T>[]> } {
  return repeatUntilStopped(async () => {
    const text = await fetchMetrics(baseUrl);
    return text === undefined ? undefined : { atMs: Date.now(), value: pick(text) };
  }, everyMs);
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
