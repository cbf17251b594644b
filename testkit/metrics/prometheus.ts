/** Reading the service's /metrics text (the Prometheus text format), sample by sample. */

export interface MetricSample {
  labels: Record<string, string>;
  value: number;
}

const SAMPLE_LINE = /^([a-zA-Z_:][\w:]*)(?:\{(.*)\})? (\S+)$/;
const LABEL = /(\w+)="([^"]*)"/g;

/** Every sample of the metric `name`, in the order the text lists them. */
export function metricSamples(text: string, name: string): MetricSample[] {
  const found: MetricSample[] = [];
  for (const line of text.split('\n')) {
    if (!line.startsWith(name)) continue;
    const match = SAMPLE_LINE.exec(line);
    if (!match || match[1] !== name) continue;
    const labels = Object.fromEntries([...(match[2] ?? '').matchAll(LABEL)].map((m) => [m[1]!, m[2]!]));
    found.push({ labels, value: Number(match[3]) });
  }
  return found;
}

const hasLabels = (sample: MetricSample, where: Record<string, string>) => Object.entries(where).every(([k, v]) => sample.labels[k] === v);

/** One sample of a counter or gauge, the first whose labels include `labels` (0 when absent). */
export function metricValue(text: string, name: string, labels: Record<string, string> = {}): number {
  return metricSamples(text, name).find((sample) => hasLabels(sample, labels))?.value ?? 0;
}

/** The sum of the samples whose labels include `where`: a counter over all its other labels. */
export function metricTotal(text: string, name: string, where: Record<string, string> = {}): number {
  return metricSamples(text, name)
    .filter((sample) => hasLabels(sample, where))
    .reduce((sum, sample) => sum + sample.value, 0);
}
