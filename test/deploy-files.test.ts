/**
 * The Dockerfile and fly.toml cannot be built or deployed here (no Docker engine, no Fly
 * account): these checks hold them to the code's own configuration instead.
 */
import { execFileSync } from 'node:child_process';
import { readFileSync, statSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { parse as parseToml } from 'smol-toml';
import { describe, expect, it } from 'vitest';
import { configFromEnv } from '../src/config/config.js';
import { STOP_GRACE_MS } from '../src/replication/litestream/primary-runner.js';

const read = (file: string) => readFileSync(new URL(`../${file}`, import.meta.url), 'utf8');

/** Dockerfile instructions, continuation lines joined, comments dropped. */
function dockerInstructions(text: string): { op: string; args: string }[] {
  return text
    .replace(/\\\n/g, ' ')
    .split('\n')
    .map((line) => line.trim())
    .filter((line) => line !== '' && !line.startsWith('#'))
    .map((line) => {
      const [op, ...rest] = line.split(/\s+/);
      return { op: op!.toUpperCase(), args: rest.join(' ') };
    });
}

/** `ENV A=1 B=2` instructions of the last stage, as one map. */
function finalStageEnv(instructions: { op: string; args: string }[]): Record<string, string> {
  const lastFrom = instructions.map((i) => i.op).lastIndexOf('FROM');
  const env: Record<string, string> = {};
  for (const { op, args } of instructions.slice(lastFrom)) {
    if (op !== 'ENV') continue;
    for (const [, name, value] of args.matchAll(/(\w+)=(\S+)/g)) env[name!] = value!;
  }
  return env;
}

/** Every environment variable name the source reads through EnvReader or process.env. */
function namesTheCodeReads(): Set<string> {
  const files = ['src/config/config.ts', 'src/replication/litestream/settings.ts', 'src/replication/litestream/binary.ts'];
  const names = new Set<string>();
  for (const file of files) for (const [, name] of read(file).matchAll(/'([A-Z][A-Z0-9_]+)'/g)) names.add(name!);
  return names;
}

describe('Dockerfile', () => {
  const instructions = dockerInstructions(read('Dockerfile'));
  const froms = instructions.filter((i) => i.op === 'FROM').map((i) => i.args);
  const runs = instructions.filter((i) => i.op === 'RUN').map((i) => i.args);

  it('builds in one stage and runs from a Node 20 slim image in another, with production packages only', () => {
    expect(froms.length).toBeGreaterThanOrEqual(2);
    for (const from of froms) expect(from).toMatch(/^node:20[\w.-]*-slim\b/);
    expect(runs.some((r) => /npm ci\b/.test(r))).toBe(true);
    expect(runs.some((r) => /npm run build/.test(r) && /npm prune --omit=dev/.test(r))).toBe(true);
  });

  it('runs the compiled launcher as a non-root user that owns /data', () => {
    const env = finalStageEnv(instructions);
    expect(env.DATA_DIR).toBe('/data');
    expect(runs.some((r) => /chown node:node \/data/.test(r))).toBe(true);
    const entrypoint = instructions.find((i) => i.op === 'ENTRYPOINT')!.args;
    expect(JSON.parse(instructions.find((i) => i.op === 'CMD')!.args)).toEqual(['node', 'dist/launcher.js']);
    // The entrypoint drops root (after handing the mounted volume over) before the launcher runs.
    const script = read(JSON.parse(entrypoint)[0].replace('/app/', ''));
    expect(script).toMatch(/setpriv --reuid=node --regid=node/);
    const scriptPath = fileURLToPath(new URL('../scripts/docker-entrypoint.sh', import.meta.url));
    expect(statSync(scriptPath).mode & 0o111).not.toBe(0);
    execFileSync('sh', ['-n', scriptPath]); // parses as POSIX sh (throws if not)
  });

  it('ships litestream.yml and the Litestream binary package, and ignores local data', () => {
    expect(instructions.some((i) => i.op === 'COPY' && /litestream\.yml/.test(i.args))).toBe(true);
    const pkg = JSON.parse(read('package.json')) as { optionalDependencies: Record<string, string> };
    expect(pkg.optionalDependencies['@flydotio/litestream-linux-x64']).toBe('1.0.1');
    const ignored = read('.dockerignore').split('\n');
    for (const entry of ['node_modules', 'data', '.git', 'bench-output']) expect(ignored).toContain(entry);
  });
});

describe('fly.toml', () => {
  const fly = parseToml(read('fly.toml')) as {
    primary_region: string;
    kill_signal: string;
    kill_timeout: number;
    env: Record<string, string>;
    mounts: { destination: string };
    http_service: { internal_port: number; force_https: boolean; auto_stop_machines: string; checks: { path: string }[] };
    metrics: { port: number; path: string };
  };
  const dockerEnv = finalStageEnv(dockerInstructions(read('Dockerfile')));

  it('agrees with the image and the service on port, data path and health check', () => {
    const config = configFromEnv({ ...fly.env, FLY_REGION: fly.primary_region, PRIMARY_REGION: fly.primary_region });
    expect(config.role).toBe('primary');
    expect(fly.http_service.internal_port).toBe(config.port);
    expect(String(config.port)).toBe(dockerEnv.PORT);
    expect(fly.mounts.destination).toBe(config.dataDir);
    expect(dockerEnv.DATA_DIR).toBe(config.dataDir);
    expect(fly.http_service.force_https).toBe(true);
    expect(fly.http_service.checks.map((c) => c.path)).toContain('/xrpc/_health');
    expect(fly.metrics).toEqual({ port: config.port, path: '/metrics' });
    expect(read('src/http/server.ts')).toContain("'/xrpc/_health'");
  });

  it('makes machines elsewhere replicas, never sleeps, and waits out the final flush and sync', () => {
    expect(configFromEnv({ ...fly.env, FLY_REGION: 'sin', PRIMARY_REGION: fly.primary_region }).role).toBe('replica');
    expect(fly.http_service.auto_stop_machines).toBe('off');
    expect(fly.kill_signal).toBe('SIGTERM');
    expect(fly.kill_timeout * 1000).toBeGreaterThan(STOP_GRACE_MS);
  });

  it('sets only variables the code reads', () => {
    const known = namesTheCodeReads();
    for (const name of Object.keys(fly.env)) expect(known, name).toContain(name);
    for (const name of Object.keys(dockerEnv).filter((n) => n !== 'NODE_ENV')) expect(known, name).toContain(name);
  });
});
