/**
 * The demo's machines: one launcher per region (`src/bin/launcher.ts`, as `npm start` runs
 * it), each in a process group of its own so the terminal's Ctrl-C reaches only the
 * demo, which stops them in order. Their output goes to a log file each.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { closeSync, openSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { REPO_ROOT } from '../../testkit/processes/processes.js';

const LAUNCHER = fileURLToPath(new URL('../../src/bin/launcher.ts', import.meta.url));

export interface DemoNode {
  region: string;
  role: 'primary' | 'replica';
  url: string;
  logFile: string;
  child: ChildProcess;
  /** The exit code (null after a signal). */
  exited: Promise<number | null>;
}

export function startDemoNode(spec: { region: string; role: DemoNode['role']; port: number; logFile: string; env: Record<string, string> }): DemoNode {
  const log = openSync(spec.logFile, 'a');
  const child = spawn(process.execPath, ['--import', 'tsx', LAUNCHER], {
    cwd: REPO_ROOT,
    env: { ...process.env, ...spec.env, PORT: String(spec.port) },
    stdio: ['ignore', log, log],
    detached: true,
  });
  closeSync(log); // the child holds its own copy
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  return { region: spec.region, role: spec.role, url: `http://127.0.0.1:${spec.port}`, logFile: spec.logFile, child, exited };
}

export function isRunning(node: DemoNode): boolean {
  return node.child.exitCode === null && node.child.signalCode === null;
}

/** SIGKILL to the node's whole group (launcher, Litestream, service). */
export function killNode(node: DemoNode): void {
  try {
    process.kill(-node.child.pid!, 'SIGKILL');
  } catch {
    // gone already
  }
}

/**
 * SIGTERM to every launcher (the primary's forwards it to Litestream, which stops the
 * service, then makes its final sync); SIGKILL to what is still running after `graceMs`.
 */
export async function stopNodes(nodes: DemoNode[], graceMs: number): Promise<Array<number | null>> {
  const running = nodes.filter(isRunning);
  for (const node of running) node.child.kill('SIGTERM');
  const timer = setTimeout(() => running.forEach(killNode), graceMs);
  const codes = await Promise.all(nodes.map((node) => node.exited));
  clearTimeout(timer);
  return codes;
}
