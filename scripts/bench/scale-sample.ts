/**
 * What bench:scale reads at the end of a simulated day: the service's own metrics, the
 * database file, the bucket's objects on the S3 stand-in's disk, and Litestream's memory.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { metricTotal } from '../../testkit/metrics/prometheus.js';
import { descendants } from '../../testkit/processes/process-tree.js';

export interface ServiceFigures {
  /** Likes in the window (not deleted, not pruned), as the writer counts them. */
  likes: number;
  graphLikes: number;
  graphBytes: number;
  /** Every frame the service counted, any outcome. */
  events: number;
  rssBytes: number;
  prunedRows: number;
}

export async function readServiceFigures(metricsUrl: string): Promise<ServiceFigures> {
  const text = await fetch(metricsUrl).then((r) => r.text());
  return {
    likes: metricTotal(text, 'feedgen_likes'),
    graphLikes: metricTotal(text, 'feedgen_graph_likes'),
    graphBytes: metricTotal(text, 'feedgen_graph_bytes'),
    events: metricTotal(text, 'feedgen_ingest_events_total'),
    rssBytes: Number(/^feedgen_process_(?:process_)?resident_memory_bytes (\S+)$/m.exec(text)?.[1] ?? 0),
    prunedRows: metricTotal(text, 'feedgen_pruned_rows_total'),
  };
}

export interface BucketBytes {
  snapshots: number;
  wal: number;
  objects: number;
}

/**
 * The objects Litestream keeps under `prefix` (generations/<id>/snapshots/… and
 * …/wal/…), as the S3 stand-in stores them: compressed, as the bucket would bill them.
 * s3rver keeps a metadata file beside each object; only the objects count.
 */
export function bucketBytes(s3Directory: string, bucket: string, prefix: string): BucketBytes {
  const total: BucketBytes = { snapshots: 0, wal: 0, objects: 0 };
  const walk = (dir: string) => {
    let entries;
    try {
      entries = readdirSync(dir, { withFileTypes: true });
    } catch {
      return; // nothing uploaded yet
    }
    for (const entry of entries) {
      const full = path.join(dir, entry.name);
      if (entry.isDirectory()) walk(full);
      else if (entry.name.endsWith('._S3rver_object')) {
        const size = statSync(full).size;
        total.objects++;
        if (full.includes(`${path.sep}snapshots${path.sep}`)) total.snapshots += size;
        else total.wal += size;
      }
    }
  };
  walk(path.join(s3Directory, bucket, prefix));
  return total;
}

/** Resident memory of the Litestream process under a launcher, in bytes (0 when not found). */
export function litestreamRssBytes(launcherPid: number): number {
  const litestream = descendants(launcherPid).find((p) => p.comm === 'litestream');
  if (!litestream) return 0;
  try {
    const kb = Number(/VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${litestream.pid}/status`, 'utf8'))?.[1] ?? 0);
    return kb * 1024;
  } catch {
    return 0;
  }
}

/** Polls until the like graph holds what the database says is live, and stops moving. */
export async function waitForGraphToFollow(metricsUrl: string, timeoutMs: number): Promise<ServiceFigures> {
  const deadline = Date.now() + timeoutMs;
  let last: ServiceFigures | undefined;
  for (;;) {
    const now = await readServiceFigures(metricsUrl);
    if (last && now.graphLikes === last.graphLikes && now.events === last.events && now.graphLikes > 0) return now;
    if (Date.now() > deadline) throw new Error(`the like graph did not settle within ${timeoutMs} ms (${now.graphLikes} of ${now.likes} likes)`);
    last = now;
    await new Promise((resolve) => setTimeout(resolve, 1000));
  }
}
