import type { QualityRow } from '../../feed/served-log.js';
import type { Point } from '../../observability/status/series.js';
import type { Machines } from '../../observability/status/peers.js';
import type { ChartName, StatusReading } from '../../observability/status/sampler.js';

/** Markup that is already safe; everything else interpolated into `html` is escaped. */
export class SafeHtml {
  constructor(readonly text: string) {}
  toString(): string {
    return this.text;
  }
}

type Part = SafeHtml | string | number | undefined | readonly Part[];

export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

/** A template tag that escapes every interpolated value that is not SafeHtml. */
export function html(strings: TemplateStringsArray, ...parts: Part[]): SafeHtml {
  const render = (part: Part): string =>
    part instanceof SafeHtml ? part.text : Array.isArray(part) ? part.map(render).join('') : escapeHtml(String(part ?? ''));
  return new SafeHtml(strings.reduce((out, s, i) => out + render(parts[i - 1]) + s));
}

export interface StatusPage {
  role: 'primary' | 'replica';
  region: string | undefined;
  version: string;
  /** Undefined before the first sample. */
  reading: StatusReading | undefined;
  points: (name: ChartName) => Point[];
  now: number;
  /** The page reloads itself this often (seconds): no script needed. */
  refreshSeconds: number;
}

const UNKNOWN = '—';
const WINDOW_MS = 60 * 60 * 1000;

/** Formats a known number, or shows the dash. */
const known = (format: (n: number) => string) => (n: number | undefined) => (n === undefined || !Number.isFinite(n) ? UNKNOWN : format(n));
const count = known((n) => Math.round(n).toLocaleString('en-US'));
const perSecond = known((n) => `${n.toFixed(1)}/s`);
const seconds = known((n) => {
  if (n < 1) return `${(n * 1000).toFixed(1)} ms`;
  if (n < 3600) return `${n.toFixed(1)} s`;
  return n < 86_400 ? `${(n / 3600).toFixed(1)} h` : `${(n / 86_400).toFixed(1)} d`;
});
const BYTE_UNITS = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
const bytes = known((n) => {
  const power = n < 1024 ? 0 : Math.min(BYTE_UNITS.length - 1, Math.floor(Math.log2(n) / 10));
  return power === 0 ? `${n} B` : `${(n / 1024 ** power).toFixed(1)} ${BYTE_UNITS[power]}`;
});

interface ChartSpec {
  name: ChartName;
  title: string;
  format: (n: number | undefined) => string;
}

/** The whole page: what this node is, then one section per part of the service. */
export function renderStatusPage(page: StatusPage): string {
  const r = page.reading;
  const primary = page.role === 'primary';
  const region = page.region ?? UNKNOWN;
  const age = r ? `${Math.max(0, Math.round((page.now - r.sampledAt) / 1000))} s ago` : 'not yet';
  const chart = (spec: ChartSpec) => sparkline(spec, page.points(spec.name), page.now);

  const ingest = primary
    ? html`<section id="ingest"><h2>Ingest</h2>
<dl>${row('events', perSecond(r?.ingestPerSecond))}${row('paused', pauseText(r))}${row('data volume used', r?.volumeUsedRatio === undefined ? UNKNOWN : `${(r.volumeUsedRatio * 100).toFixed(1)} %`)}${row('Jetstream lag', seconds(r?.ingestLagSeconds))}${row('likes in the window', count(r?.likes))}</dl>
${chart({ name: 'ingestPerSecond', title: 'events/s', format: perSecond })}${chart({ name: 'ingestLagSeconds', title: 'Jetstream lag', format: seconds })}${chart({ name: 'likes', title: 'likes', format: count })}
</section>`
    : html`<section id="window"><h2>Window</h2>
<dl>${row('likes in the window', count(r?.likes))}${row("primary's ingest paused", pauseText(r))}</dl>
${chart({ name: 'likes', title: 'likes', format: count })}
</section>`;

  const litestream = r?.litestream;
  const replication = primary
    ? html`<section id="replication"><h2>Litestream</h2>
<dl>${row('up', litestream ? (litestream.up ? 'yes' : 'no') : UNKNOWN)}${row('replica stalled for', seconds(litestream?.stalledSeconds))}${row('sync errors', count(litestream?.syncErrors))}</dl>
</section>`
    : html`<section id="replication"><h2>Replica</h2>
<dl>${row('lag behind the primary', seconds(r?.replicaLagSeconds))}${row('fresh restores', tally(r?.restores))}</dl>
${chart({ name: 'replicaLagSeconds', title: 'replica lag', format: seconds })}
</section>`;

  return html`<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta http-equiv="refresh" content="${page.refreshSeconds}">
<title>foryou-feedgen · ${page.role} · ${region}</title>
<style>${new SafeHtml(STYLE)}</style>
</head>
<body>
<header><h1>foryou-feedgen</h1>
<p><span id="role">${page.role}</span> · region <span id="region">${region}</span> · version ${page.version} · sampled ${age}</p></header>
${ingest}
${graphSection(r, page.now)}
<section id="storage"><h2>Database</h2>
<dl>${row('database', bytes(r?.dbBytes))}${row('write-ahead log', bytes(r?.walBytes))}</dl>
${chart({ name: 'walBytes', title: 'WAL size', format: bytes })}
</section>
${replication}
${machinesSection(r?.machines)}
<section id="ranker"><h2>Ranker</h2>
<dl>${row('preset', r?.preset ?? UNKNOWN)}${followsRows(r)}</dl>
</section>
<section id="requests"><h2>getFeedSkeleton</h2>
<dl>${row('requests', perSecond(r?.requests.perSecond))}${row('p50', seconds(r?.requests.p50Seconds))}${row('p99', seconds(r?.requests.p99Seconds))}</dl>
<p class="note">Over the last sample window; percentiles are estimated within histogram buckets.</p>
</section>
${qualitySection(r?.feedQuality)}
</body>
</html>
`.text;
}

/** Cold start from follows: where first pages came from, and how the AppView answers. */
function followsRows(r: StatusReading | undefined): SafeHtml | string {
  if (r !== undefined && r.follows === undefined) return row('follows', 'off');
  const f = r?.follows;
  return html`${row('first pages from follows', f === undefined ? UNKNOWN : `${count(f.rankingsFromFollows)} of ${count(f.rankings)}`)}${row('follows fetches', tally(f?.fetches))}${row('users with follows cached', count(f?.cachedUsers))}`;
}

/** One row per peer, as it describes itself in its `_health`. */
function machinesSection(machines: Machines | undefined): SafeHtml {
  const body = !machines
    ? html`<p class="note">Not sampled yet.</p>`
    : machines.discoveryError
      ? html`<p class="note">${machines.discoveryError}</p>`
      : machines.peers.length === 0
        ? html`<p class="note">No peers: set STATUS_PEERS, or run on Fly.</p>`
        : html`<table><tr><th>machine</th><th>region</th><th>role</th><th>ready</th><th>lag</th></tr>
${machines.peers.map((p) =>
  p.reachable
    ? html`<tr><td>${p.url}</td><td>${p.region ?? UNKNOWN}</td><td>${p.role}</td><td>${p.ready ? 'yes' : 'no'}</td><td>${seconds(p.lagSeconds)}</td></tr>
`
    : html`<tr><td>${p.url}</td><td colspan="4" title="${p.reason}">unreachable</td></tr>
`,
)}</table>`;
  return html`<section id="machines"><h2>Machines</h2>
${body}
</section>`;
}

/** The like graph against its memory budget: what it holds, and what of the window it left out. */
function graphSection(r: StatusReading | undefined, now: number): SafeHtml {
  const graph = r?.graph;
  const oldest = graph?.oldestLikeTimeS;
  return html`<section id="graph"><h2>Like graph</h2>
<dl>${row('loaded from', tally(r?.graphLoads))}${row('memory used', bytes(graph?.bytes))}${row('memory budget', bytes(graph?.budgetBytes))}${row('likes of the window left out', count(graph?.likesLeftOut))}${row('oldest like held', oldest === undefined ? UNKNOWN : `${seconds(Math.max(0, now / 1000 - oldest))} ago`)}</dl>
<p class="note">Past its budget (GRAPH_MEMORY_MB) the graph keeps the newest likes that fit; the database keeps them all.</p>
</section>`;
}

const percent = (part: number, whole: number) => (whole === 0 ? UNKNOWN : `${((100 * part) / whole).toFixed(1)} %`);

/** First pages of personal rankings served by this node, and how their users answered within 24 h. */
function qualitySection(rows: QualityRow[] | undefined): SafeHtml {
  const body =
    rows === undefined
      ? html`<p class="note">Not sampled yet.</p>`
      : rows.length === 0
        ? html`<p class="note">No personal pages served in the last 48 h.</p>`
        : html`<table><tr><th>day (UTC)</th><th>preset</th><th>pages</th><th>served</th><th>like-through</th><th>show-less</th></tr>
${rows.map(
  (q) =>
    html`<tr><td>${q.day}</td><td>${q.preset}</td><td>${count(q.pages)}</td><td>${count(q.served)}</td><td>${percent(q.liked, q.served)}</td><td>${percent(q.showLess, q.served)}</td></tr>
`,
)}</table>`;
  return html`<section id="feed-quality"><h2>Feed quality</h2>
${body}
<p class="note">Served on this node; answers count within 24 h of serving, so the newest day is still open.</p>
</section>`;
}

/** Why ingest is paused, in words; "no" while it writes. */
function pauseText(r: StatusReading | undefined): string {
  if (!r) return UNKNOWN;
  if (r.ingestPaused === 'disk_guard') return 'yes: the data volume is past DISK_GUARD_PERCENT (resumes once it drains)';
  if (r.ingestPaused === 'write_failed') return 'yes: writes fail (a full disk?), retrying';
  return r.ingestPaused ?? 'no';
}

/** `a ×2, b ×1`, or "none". */
function tally(counts: Record<string, number> | undefined): string {
  if (!counts) return UNKNOWN;
  const entries = Object.entries(counts);
  return entries.length === 0 ? 'none' : entries.map(([what, n]) => `${what} ×${n}`).join(', ');
}

function row(label: string, value: string): SafeHtml {
  return html`<dt>${label}</dt><dd>${value}</dd>`;
}

const WIDTH = 240;
const HEIGHT = 48;

/**
 * A chart of the last hour ending at `now`: x is time, y runs from 0 (or the lowest
 * value, if negative) to the highest. Unknown samples break the line into segments.
 */
export function sparkline(spec: ChartSpec, points: Point[], now: number): SafeHtml {
  const values = points.flatMap((p) => (p.value === undefined ? [] : [p.value]));
  const low = Math.min(0, ...values);
  const high = Math.max(low + Number.EPSILON, ...values);
  const x = (t: number) => Math.max(0, WIDTH * (1 - (now - t) / WINDOW_MS)).toFixed(1);
  const y = (v: number) => (HEIGHT - ((v - low) / (high - low)) * HEIGHT).toFixed(1);

  const segments: string[][] = [[]];
  for (const p of points) {
    if (p.value === undefined) segments.push([]);
    else segments.at(-1)!.push(`${x(p.t)},${y(p.value)}`);
  }
  const lines = segments.filter((s) => s.length > 0).map((s) => html`<polyline points="${s.join(' ')}"/>`);
  // A line of one point draws nothing: a dot marks the newest value.
  const newest = points.at(-1);
  const dot = newest?.value === undefined ? '' : html`<circle cx="${x(newest.t)}" cy="${y(newest.value)}" r="2"/>`;
  const summary = values.length ? `now ${spec.format(values.at(-1))}, max ${spec.format(high)}` : 'no data yet';
  return html`<figure id="chart-${spec.name}"><figcaption>${spec.title} · last hour · ${summary}</figcaption>
<svg viewBox="0 0 ${WIDTH} ${HEIGHT}" width="${WIDTH}" height="${HEIGHT}" role="img" aria-label="${spec.title}, last hour">${lines}${dot}</svg></figure>`;
}

const STYLE = `
body{font:14px/1.4 system-ui,sans-serif;margin:1.5rem;max-width:60rem;color:#222}
h1{font-size:1.3rem;margin:0}h2{font-size:1.05rem;margin:.2rem 0}
section{border-top:1px solid #ddd;padding:.6rem 0}
dl{display:grid;grid-template-columns:max-content auto;gap:.1rem 1rem;margin:.3rem 0}dt{color:#666}dd{margin:0;font-variant-numeric:tabular-nums}
figure{display:inline-block;margin:.3rem 1rem .3rem 0}figcaption{font-size:12px;color:#666}
svg{background:#f7f7f7;overflow:visible}polyline{fill:none;stroke:#2a6fdb;stroke-width:1.5}circle{fill:#2a6fdb}
.note{font-size:12px;color:#666;margin:0}
table{border-collapse:collapse;font-variant-numeric:tabular-nums}th{text-align:left;color:#666;font-weight:normal}th,td{padding:.1rem 1rem .1rem 0}`;
