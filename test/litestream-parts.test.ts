import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { EnvReader } from '../src/config/env.js';
import { readingFromExposition, litestreamMetricsUrl } from '../src/replication/litestream/monitor.js';
import { isKnownCloseBug } from '../src/replication/litestream/replicator.js';
import { checkRestoreRequest, latestEndingBefore, RestoreError } from '../src/replication/litestream/restore.js';
import { logFields } from '../src/replication/litestream/run.js';
import { LITESTREAM_CONFIG, litestreamEnv, readLitestreamSettings } from '../src/replication/litestream/settings.js';
import { exitCode, supervise } from '../src/replication/litestream/supervisor.js';
import { startJetstreamReplay } from '../testkit/standins/jetstream-server.js';
import { startS3Server } from '../testkit/standins/s3-server.js';
import { freePort } from '../testkit/processes/processes.js';
import { CAPTURE_FILE, jsonlLines } from '../testkit/fixtures.js';
import { killAllPrimaries, likeIds, likesIn, restoreFrom, startPrimary } from '../testkit/processes/primary.js';
import { waitFor } from '../testkit/processes/service.js';

const dirs: string[] = [];
const tempDir = () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'feedgen-ls-'));
  dirs.push(dir);
  return dir;
};
afterAll(() => {
  killAllPrimaries();
  dirs.forEach((dir) => rmSync(dir, { recursive: true, force: true }));
});

describe('Litestream settings', () => {
  it('replicate to a folder under DATA_DIR when no bucket is configured', () => {
    const settings = readLitestreamSettings({}, '/data');
    expect(settings.replica).toEqual({ type: 'file', folder: '/data/litestream-replica' });
    expect(settings.dbPath).toBe('/data/feed.db');
    expect([settings.syncInterval, settings.snapshotInterval, settings.retention]).toEqual(['1s', '24h', '72h']);
  });

  it("use the bucket and endpoint that Fly's storage sets, under a key prefix", () => {
    const env = { BUCKET_NAME: 'b', AWS_ENDPOINT_URL_S3: 'https://fly.storage.example', LITESTREAM_PATH: 'prod' };
    expect(readLitestreamSettings(env, '/data').replica).toEqual({ type: 's3', bucket: 'b', prefix: 'prod', endpoint: 'https://fly.storage.example' });
  });

  it('report every bad duration, and turn metrics off with "off"', () => {
    const env = { LITESTREAM_SYNC_INTERVAL: '1', LITESTREAM_RETENTION: 'a week' };
    const read = new EnvReader(env);
    readLitestreamSettings(env, '/data', read);
    expect(read.problems).toHaveLength(2);
    expect(read.problems[0]).toMatch(/LITESTREAM_SYNC_INTERVAL="1" is not a duration/);
    expect(readLitestreamSettings({ LITESTREAM_METRICS_ADDR: 'off' }, '/data').metricsAddr).toBe('');
  });

  it('fill in every variable that litestream.yml names', () => {
    const yaml = readFileSync(LITESTREAM_CONFIG, 'utf8').replace(/#.*$/gm, '');
    const named = [...yaml.matchAll(/\$\{(\w+)\}/g)].map((m) => m[1]!);
    expect(named.length).toBeGreaterThan(8);
    const env = litestreamEnv(readLitestreamSettings({ BUCKET_NAME: 'b', PATH: '/usr/bin' }, '/data'));
    for (const name of named) expect(env[name], name).toBeDefined();
    expect(env).toMatchObject({ LITESTREAM_REPLICA_TYPE: 's3', LITESTREAM_REPLICA_PATH: 'feedgen', DATA_DIR: '/data', PATH: '/usr/bin' });
  });
});

describe("Litestream's output", () => {
  it('log lines split into fields, quoted values unquoted', () => {
    const line = 'time=2026-11-27T08:09:34.357Z level=INFO msg="applied wal" db=/tmp/x/feed.db generation=d536a71db74a347b index=12 elapsed=1.9ms';
    expect(logFields(line)).toMatchObject({ level: 'INFO', msg: 'applied wal', index: '12', generation: 'd536a71db74a347b' });
  });

  it("the known close-time checkpoint bug is told apart from real failures", () => {
    const bug = 'time=2026-11-27T08:14:45.660Z level=ERROR msg="failed to run" error="checkpoint: mode=PASSIVE err=release read lock: context canceled"';
    expect(isKnownCloseBug(bug)).toBe(true);
    expect(isKnownCloseBug('time=x level=ERROR msg="failed to run" error="cannot wait for exec process: exit status 1"')).toBe(false);
    expect(isKnownCloseBug('time=x level=ERROR msg="error closing db" error="checkpoint: mode=PASSIVE err=release read lock: context canceled"')).toBe(false);
  });

  it('metrics give errors and the replica position', () => {
    const text = [
      '# HELP litestream_sync_error_count x',
      'litestream_sync_error_count{db="/d/feed.db"} 2',
      'litestream_checkpoint_error_count{db="/d/feed.db",mode="PASSIVE"} 1',
      'litestream_checkpoint_error_count{db="/d/feed.db",mode="RESTART"} 3',
      'litestream_replica_wal_index{db="/d/feed.db",name="s3"} 6',
      'litestream_replica_wal_offset{db="/d/feed.db",name="s3"} 4152',
      'process_start_time_seconds 1.79668576555e+09',
    ].join('\n');
    expect(readingFromExposition(text)).toEqual({ syncErrors: 2, checkpointErrors: 4, replicaPosition: '6/4152', startTimeSeconds: 1796685765.55 });
    expect(readingFromExposition('').replicaPosition).toBeUndefined();
    expect(litestreamMetricsUrl(':9090')).toBe('http://127.0.0.1:9090/metrics');
    expect(litestreamMetricsUrl('')).toBeUndefined();
  });
});

describe('supervisor', () => {
  it('sends SIGKILL when SIGTERM is ignored (the hang Litestream 0.3.13 can have)', async () => {
    const child = supervise(process.execPath, ['-e', "process.on('SIGTERM', () => {}); console.log('up'); setInterval(() => {}, 1000)"], {
      env: process.env,
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    await new Promise((resolve) => child.child.stdout!.once('data', resolve));
    const started = Date.now();
    const status = await child.stop(300);
    expect(status).toEqual({ code: null, signal: 'SIGKILL' });
    expect(Date.now() - started).toBeGreaterThanOrEqual(250);
    expect(exitCode(status)).toBe(137);
  });

  it('lets a child that stops on SIGTERM exit with its own code', async () => {
    const child = supervise(process.execPath, ['-e', "process.on('SIGTERM', () => process.exit(3)); console.log('up'); setInterval(() => {}, 1000)"], {
      env: process.env,
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    await new Promise((resolve) => child.child.stdout!.once('data', resolve));
    expect(exitCode(await child.stop(10_000))).toBe(3);
  });
});

describe('restore requests', () => {
  const settings = readLitestreamSettings({}, '/srv/data');

  it('never target the live database or an existing file', () => {
    expect(() => checkRestoreRequest(settings, { output: '/srv/data/feed.db' })).toThrow(/is the live database/);
    const dir = tempDir();
    expect(() => checkRestoreRequest(settings, { output: path.join(dir, '.') })).toThrow(RestoreError);
    expect(() => checkRestoreRequest(settings, { output: path.join(dir, 'new.db') })).not.toThrow();
  });

  it('need an RFC 3339 time', () => {
    for (const timestamp of ['yesterday', '2026-11-27', '2026-11-27 08:00:00', '2026-13-45T08:00:00Z']) {
      expect(() => checkRestoreRequest(settings, { output: '/tmp/x.db', timestamp }), timestamp).toThrow(/RFC 3339/);
    }
    expect(() => checkRestoreRequest(settings, { output: '/tmp/never-made.db', timestamp: '2026-11-27T08:00:00.5+01:00' })).not.toThrow();
  });

  it('between generations, pick the one that ended last before the time', () => {
    const g = (generation: string, start: string, end: string) => ({ replica: 's3', generation, lag: '1s', start, end });
    const generations = [g('a', '2026-11-27T08:00:00Z', '2026-11-27T08:10:00Z'), g('b', '2026-11-27T08:20:00Z', '2026-11-27T08:30:00Z')];
    expect(latestEndingBefore(generations, Date.parse('2026-11-27T08:15:00Z'))).toBe('a');
    expect(latestEndingBefore(generations, Date.parse('2026-11-27T09:00:00Z'))).toBe('b');
    expect(latestEndingBefore(generations, Date.parse('2026-11-27T07:00:00Z'))).toBeUndefined();
  });
});

describe('S3 stand-in', () => {
  it('lists keys nested deeper than one level as common prefixes (patched s3rver)', async () => {
    const s3 = await startS3Server();
    try {
      for (const key of ['db/generations/abc/snapshots/0.lz4', 'db/generations/abc/wal/0/0.lz4', 'db/generations/def/wal/0/0.lz4', 'db/top']) {
        const put = await fetch(`${s3.endpoint}/${s3.bucket}/${key}`, { method: 'PUT', body: 'x' });
        expect(put.status, key).toBe(200);
      }
      const list = await fetch(`${s3.endpoint}/${s3.bucket}?list-type=2&prefix=db/generations/&delimiter=/`).then((r) => r.text());
      const prefixes = [...list.matchAll(/<CommonPrefixes><Prefix>([^<]+)<\/Prefix><\/CommonPrefixes>/g)].map((m) => m[1]);
      expect(prefixes).toEqual(['db/generations/abc/', 'db/generations/def/']);
      expect(s3.requests()).toMatchObject({ PUT: 4, LIST: 1 });

      await s3.stop();
      await expect(fetch(`${s3.endpoint}/${s3.bucket}/db/top`)).rejects.toThrow();
      await s3.resume();
      expect(await fetch(`${s3.endpoint}/${s3.bucket}/db/top`).then((r) => r.text())).toBe('x');
    } finally {
      await s3.close();
    }
  });
});

describe('launcher', () => {
  const launch = (env: Record<string, string>) => {
    const child = spawn(process.execPath, ['--import', 'tsx', 'src/bin/launcher.ts'], { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
    const exited = new Promise<number | null>((resolve) => child.once('exit', resolve));
    return { child, exited, output: () => output };
  };

  it('reports every bad variable of the service and of Litestream at once, exit 2', async () => {
    const run = launch({ PORT: 'abc', LITESTREAM_SNAPSHOT_INTERVAL: 'hourly', DATA_DIR: tempDir() });
    expect(await run.exited).toBe(2);
    expect(run.output()).toMatch(/PORT="abc" is not an integer/);
    expect(run.output()).toMatch(/LITESTREAM_SNAPSHOT_INTERVAL="hourly" is not a duration/);
  });

  it('never starts Litestream on a replica', async () => {
    const dataDir = tempDir();
    const port = await freePort();
    const run = launch({ ROLE: 'replica', DATA_DIR: dataDir, PORT: String(port), LOG_LEVEL: 'info' });
    await waitFor(() => fetch(`http://127.0.0.1:${port}/xrpc/_health`).then(() => true, () => undefined), 20_000, 'replica up');
    run.child.kill('SIGTERM');
    expect(await run.exited).toBe(0);
    expect(run.output()).toMatch(/without Litestream replication/);
    expect(run.output()).not.toMatch(/litestream version|replicating to/);
    expect(existsSync(path.join(dataDir, 'litestream-replica'))).toBe(false);
  }, 30_000);

  it('with no bucket, replicates to a local folder that a restore reads back (the embedded default)', async () => {
    const lines = jsonlLines(CAPTURE_FILE);
    const replay = await startJetstreamReplay({ lines });
    // The capture is from July: a retention that keeps it.
    const env = { DATA_DIR: tempDir(), JETSTREAM_URL: `${replay.url}/subscribe`, BUCKET_NAME: '', RETENTION_DAYS: '3650' };
    const primary = startPrimary(env);
    const dbPath = path.join(env.DATA_DIR, 'feed.db');
    await waitFor(() => (likeIds(dbPath).length >= 105 ? true : undefined), 30_000, 'capture stored');
    // Litestream opens the database at its first sync; a stop before that has nothing to sync yet.
    await waitFor(() => (existsSync(path.join(env.DATA_DIR, 'litestream-replica', 'generations')) ? true : undefined), 30_000, 'first sync');
    primary.child.kill('SIGTERM');
    expect(await primary.exited, primary.output()).toBe(0);
    await replay.close();
    const restored = await restoreFrom(env, path.join(tempDir(), 'restored.db'));
    expect(readdirSync(path.dirname(restored.output))).toEqual(['restored.db']); // no -wal, -shm or temporary files left
    expect(likesIn(restored.output)).toEqual(likesIn(dbPath));
    expect(restored.likes).toBeGreaterThan(50);
  }, 60_000);
});
