/** Short numbers for the figures column. */

export function median(values: readonly number[]): number {
  if (values.length === 0) return NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

/** Milliseconds as seconds with one decimal: "1.8". */
export function seconds(ms: number): string {
  return (ms / 1000).toFixed(1);
}

/** "median 1.8 s, max 3.1 s" of durations in milliseconds. */
export function medianMax(ms: readonly number[]): string {
  return ms.length === 0 ? 'none measured' : `median ${seconds(median(ms))} s, max ${seconds(Math.max(...ms))} s`;
}
