/**
 * The Dockerfile and fly.toml cannot be built or deployed here (no Docker engine, no Fly
 * account): these checks hold them to the code's own configuration instead, and the Fly
 * runbook (docs/deploy-fly.md) to the image's command.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
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

/** The last stage's instructions: what the image runs. */
function finalStage(instructions: { op: string; args: string }[]): { op: string; args: string }[] {
  return instructions.slice(instructions.map((i) => i.op).lastIndexOf('FROM'));
}

/** The repository file a path of the image was copied from (a COPY from the build context, or under the workdir). */
function repositorySourceOf(stage: { op: string; args: string }[], imagePath: string): string {
  for (const { op, args } of stage) {
    if (op !== 'COPY' || args.startsWith('--from')) continue;
    const parts = args.split(/\s+/).filter((part) => !part.startsWith('--')); // --chmod, --chown
    if (parts.length === 2 && parts[1] === imagePath) return parts[0]!;
  }
  const workdir = stage.find((i) => i.op === 'WORKDIR')?.args ?? '/';
  if (imagePath.startsWith(`${workdir}/`)) return imagePath.slice(workdir.length + 1);
  throw new Error(`no COPY puts ${imagePath} in the image`);
}

/** Where `npm run build` puts the JavaScript of a source file: tsconfig.build.json's rootDir → outDir. */
function compiledPath(sourceFile: string): string {
  const { compilerOptions } = JSON.parse(read('tsconfig.build.json')) as { compilerOptions: { rootDir: string; outDir: string } };
  const relative = path.posix.relative(compilerOptions.rootDir, sourceFile);
  return path.posix.join(compilerOptions.outDir, relative.replace(/\.ts$/, '.js'));
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
    // The launcher's compiled path, as `npm run build` lays out dist/ from src/.
    const launcher = 'src/bin/launcher.ts';
    expect(existsSync(fileURLToPath(new URL(`../${launcher}`, import.meta.url)))).toBe(true);
    expect(JSON.parse(instructions.find((i) => i.op === 'CMD')!.args)).toEqual(['node', compiledPath(launcher)]);
    // The entrypoint drops root (after handing the mounted volume over) before the launcher runs.
    const entrypointSource = repositorySourceOf(finalStage(instructions), JSON.parse(entrypoint)[0]);
    const script = read(entrypointSource);
    expect(script).toMatch(/setpriv --reuid=node --regid=node/);
    const scriptPath = fileURLToPath(new URL(`../${entrypointSource}`, import.meta.url));
    expect(statSync(scriptPath).mode & 0o111).not.toBe(0);
    execFileSync('sh', ['-n', scriptPath]); // parses as POSIX sh (throws if not)
  });

  it('runs compiled JavaScript only: no sources, scripts or TypeScript runner in the image', () => {
    const copied = finalStage(instructions)
      .filter((i) => i.op === 'COPY' && !i.args.startsWith('--from'))
      .flatMap((i) => i.args.split(/\s+/).slice(0, -1));
    for (const folder of ['src', 'scripts', 'test', 'testkit']) expect(copied, folder).not.toContain(folder);
    const pkg = JSON.parse(read('package.json')) as { dependencies: Record<string, string> };
    expect(Object.keys(pkg.dependencies)).not.toContain('tsx'); // npm prune --omit=dev leaves dependencies only
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
    // Scraped where the service serves /metrics: METRICS_PORT when set, else the public port.
    const metricsPort = fly.env.METRICS_PORT ?? dockerEnv.METRICS_PORT;
    expect(fly.metrics).toEqual({ port: metricsPort === undefined ? config.port : Number(metricsPort), path: '/metrics' });
    expect(read('src/http/server.ts')).toContain("'/xrpc/_health'");
  });

  it('makes machines elsewhere replicas, never sleeps, and waits out the final flush and sync', () => {
    expect(configFromEnv({ ...fly.env, FLY_REGION: 'sin', PRIMARY_REGION: fly.primary_region }).role).toBe('replica');
    expect(fly.http_service.auto_stop_machines).toBe('off');
    expect(fly.kill_signal).toBe('SIGTERM');
    expect(fly.kill_timeout * 1000).toBeGreaterThan(STOP_GRACE_MS);
  });

  it("is the runbook's: docs/deploy-fly.md names the image's command and the restore's", () => {
    const runbook = read('docs/deploy-fly.md');
    const cmd = (JSON.parse(dockerInstructions(read('Dockerfile')).find((i) => i.op === 'CMD')!.args) as string[]).join(' ');
    expect(runbook).toContain(`--command "${cmd}"`);
    expect(runbook).toContain(`node ${compiledPath('src/bin/restore.ts')} --output`);
  });

  it('sets only variables the code reads', () => {
    const known = namesTheCodeReads();
    for (const name of Object.keys(fly.env)) expect(known, name).toContain(name);
    for (const name of Object.keys(dockerEnv).filter((n) => n !== 'NODE_ENV')) expect(known, name).toContain(name);
  });
});
