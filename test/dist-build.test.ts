/**
 * The image runs compiled JavaScript with plain `node`: no tsx, no src/ and no scripts/.
 * This builds dist/ as the Dockerfile does and runs its entry points the same way.
 */
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CAPTURE_FILE, jsonlLines } from '../testkit/fixtures.js';
import { buildService, freePort, REPO_ROOT } from '../testkit/processes/processes.js';
import { waitFor } from '../testkit/processes/service.js';
import { type JetstreamReplayServer, startJetstreamReplay } from '../testkit/standins/jetstream-server.js';

const node = (entry: string) => path.join(REPO_ROOT, 'dist', 'bin', entry);

describe('the compiled build (dist/), run by plain node', () => {
  let replay: JetstreamReplayServer;
  let launcher: ChildProcess | undefined;
  const dataDir = mkdtempSync(path.join(tmpdir(), 'feedgen-dist-'));

  beforeAll(async () => {
    buildService();
    replay = await startJetstreamReplay({ lines: jsonlLines(CAPTURE_FILE), ratePerSec: 1000 });
  }, 120_000);

  afterAll(async () => {
    launcher?.kill('SIGKILL');
    await replay?.close();
    rmSync(dataDir, { recursive: true, force: true });
  });

  it('restore answers --help', () => {
    expect(execFileSync(process.execPath, [node('restore.js'), '--help'], { encoding: 'utf8' })).toMatch(/usage: node dist\/bin\/restore.js --output/);
  });

  it('the launcher runs the service under Litestream, /metrics only on METRICS_PORT, and stops cleanly', async () => {
    const [port, metricsPort] = [await freePort(), await freePort()];
    let output = '';
    launcher = spawn(process.execPath, [node('launcher.js')], {
      // Nothing of the development set-up: no tsx loader, and not run from the repository.
      cwd: dataDir,
      env: {
        PATH: process.env.PATH,
        DATA_DIR: dataDir,
        PORT: String(port),
        METRICS_PORT: String(metricsPort),
        HOST: '127.0.0.1',
        JETSTREAM_URL: `${replay.url}/subscribe`,
        LITESTREAM_METRICS_ADDR: 'off',
        LOG_LEVEL: 'info',
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    launcher.stdout!.on('data', (chunk: Buffer) => (output += chunk.toString()));
    launcher.stderr!.on('data', (chunk: Buffer) => (output += chunk.toString()));
    const exited = new Promise<number | null>((resolve) => launcher!.once('exit', resolve));

    const base = `http://127.0.0.1:${port}`;
    const health = await waitFor(
      async () => {
        const res = await fetch(`${base}/xrpc/_health`).catch(() => undefined);
        const body = res?.ok ? ((await res.json()) as { ready: boolean; role: string }) : undefined;
        return body?.ready ? body : undefined;
      },
      60_000,
      `the compiled service to be ready; output so far:\n${output}`,
    );
    expect(health.role).toBe('primary');
    // The service knows it runs under Litestream, so it left checkpoints to it.
    expect(output).toMatch(/"underLitestream":true/);

    expect((await fetch(`${base}/metrics`)).status).toBe(404);
    const metrics = await fetch(`http://127.0.0.1:${metricsPort}/metrics`);
    expect(metrics.status).toBe(200);
    expect(await metrics.text()).toMatch(/^feedgen_graph_ready 1$/m);

    // The embedded default: Litestream replicates into a local folder.
    const generations = path.join(dataDir, 'litestream-replica', 'generations');
    await waitFor(() => (existsSync(generations) && readdirSync(generations).length > 0) || undefined, 30_000, 'a generation in the local replica');

    launcher.kill('SIGTERM');
    expect(await exited, output).toBe(0);
    launcher = undefined;
  }, 120_000);
});
