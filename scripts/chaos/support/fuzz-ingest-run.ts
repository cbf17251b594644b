/**
 * One ingest run for the fuzz scenario: the real service process (src/bin/service.ts) reads a
 * frame list until every frame is accounted for in its metrics; then its peak memory,
 * metrics and stored likes are taken and it is stopped with SIGTERM.
 */
import path from 'node:path';
import { freePort, peakRssMb } from '../../../testkit/processes/processes.js';
import { spawnService } from '../../../testkit/processes/child-service.js';
import { likesIn } from '../../../testkit/processes/primary.js';
import type { ChaosContext } from '../outcome.js';
import { type Frame, startFrameListServer } from '../../../testkit/standins/frame-list-server.js';
import { metricTotal } from '../../../testkit/metrics/prometheus.js';

export interface IngestRun {
  /** VmHWM of the service process when the last frame was counted. */
  peakRssMb: number;
  metrics: string;
  likes: string[];
  connections: number;
  seconds: number;
  /** Still running (and answering /xrpc/_health) once everything was read. */
  alive: boolean;
  exitCode: number | null;
}

export async function ingestRun(ctx: ChaosContext, label: string, frames: () => Iterable<Frame>, frameCount: number, timeoutMs: number): Promise<IngestRun> {
  const server = await startFrameListServer(frames);
  const dataDir = ctx.tempDir();
  const port = await freePort();
  const started = Date.now();
  const service = spawnService({ DATA_DIR: dataDir, PORT: String(port), JETSTREAM_URL: server.url, INGEST_BATCH_WAIT_MS: '20' });
  const base = `http://127.0.0.1:${port}`;
  try {
    // Every frame is counted once: by the writer (stored, duplicate, ignored) or by the parser (rejected, ignored).
    let counted = 0;
    let metrics = '';
    let lastLog = 0;
    for (;;) {
      if (service.child.exitCode !== null || service.child.signalCode !== null) break;
      metrics = await fetch(`${base}/metrics`).then((r) => r.text()).catch(() => '');
      counted = metricTotal(metrics, 'feedgen_ingest_events_total');
      if (counted >= frameCount) break;
      if (Date.now() - started > timeoutMs) break;
      if (Date.now() - lastLog > 10_000) {
        lastLog = Date.now();
        ctx.log(`${label}: ${counted} of ${frameCount} frames counted, ${server.stats().framesSent} sent`);
      }
      await new Promise((resolve) => setTimeout(resolve, 250));
    }
    const running = service.child.exitCode === null && service.child.signalCode === null;
    const peak = running ? peakRssMb(service.child.pid!) : 0;
    const health = running ? await fetch(`${base}/xrpc/_health`).then((r) => r.status).catch(() => 0) : 0;
    ctx.log(`${label}: ${counted} of ${frameCount} frames counted in ${((Date.now() - started) / 1000).toFixed(1)} s, peak RSS ${peak.toFixed(0)} MB`);
    service.child.kill('SIGTERM');
    const exitCode = await service.exited;
    return {
      peakRssMb: peak,
      metrics,
      likes: likesIn(path.join(dataDir, 'feed.db')),
      connections: server.stats().connections,
      seconds: (Date.now() - started) / 1000,
      alive: running && health === 200,
      exitCode,
    };
  } finally {
    service.killAll();
    await server.close();
  }
}
