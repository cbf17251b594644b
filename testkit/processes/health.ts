import type { ChildProcess } from 'node:child_process';
import { waitFor } from '../polling/wait-for.js';

/** What a node's `GET /xrpc/_health` answers. */
export interface Health {
  version: string;
  role: 'primary' | 'replica';
  region: string | null;
  ready: boolean;
  /** 0 on the primary; null before a replica's first heartbeat. */
  lag_seconds: number | null;
  /** Age of the newest event in the database served. */
  ingest_lag_seconds: number | null;
}

/** The node's health, or undefined while nothing answers (starting, or gone). */
export async function healthOf(baseUrl: string): Promise<Health | undefined> {
  try {
    const res = await fetch(`${baseUrl}/xrpc/_health`);
    return res.ok ? ((await res.json()) as Health) : undefined;
  } catch {
    return undefined;
  }
}

/** The process behind a node, when the caller started it: a wait ends at once if it exits. */
export interface WatchedProcess {
  child: ChildProcess;
  /** What it printed, for the error. */
  output?: () => string;
}

/** Resolves with the node's health once it says ready; fails early if `watched` exits first. */
export function waitHealthy(baseUrl: string, timeoutMs: number, what: string, watched?: WatchedProcess): Promise<Health> {
  return waitFor(
    async () => {
      if (watched && (watched.child.exitCode !== null || watched.child.signalCode !== null)) {
        throw new Error(`${what}: the process exited (${watched.child.exitCode ?? watched.child.signalCode})${watched.output ? `:\n${watched.output().slice(-2000)}` : ''}`);
      }
      const health = await healthOf(baseUrl);
      return health?.ready ? health : undefined;
    },
    timeoutMs,
    what,
  );
}

/** A one-word account of a node's state, for progress lines. */
export function describeHealth(health: Health | undefined): string {
  if (!health) return 'starting';
  if (health.ready) return health.role === 'primary' ? 'ready' : `ready, lag ${health.lag_seconds?.toFixed(1)} s`;
  if (health.role === 'primary') return 'loading';
  return health.lag_seconds === null ? 'waiting for a copy in the bucket' : `catching up, lag ${health.lag_seconds.toFixed(1)} s`;
}
