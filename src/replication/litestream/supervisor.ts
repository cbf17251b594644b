import { type ChildProcess, spawn, type StdioOptions } from 'node:child_process';

export interface ExitStatus {
  code: number | null;
  signal: NodeJS.Signals | null;
}

/** A child process that is stopped with SIGTERM, then SIGKILL. */
export interface Supervised {
  child: ChildProcess;
  exited: Promise<ExitStatus>;
  /**
   * SIGTERM, then SIGKILL after `graceMs`: Litestream 0.3.13 can hang after SIGTERM while
   * another connection holds the write lock (a known upstream deadlock). The service it
   * runs has its own, shorter stop deadline, so it is gone by then.
   */
  stop(graceMs: number): Promise<ExitStatus>;
}

export interface SuperviseOptions {
  env: NodeJS.ProcessEnv;
  stdio?: StdioOptions;
}

export function supervise(command: string, args: string[], options: SuperviseOptions): Supervised {
  // Same process group: a Ctrl-C in a terminal, or a kill of the group, reaches all of it.
  const child = spawn(command, args, { env: options.env, stdio: options.stdio ?? 'inherit' });
  let done = false;
  const exited = new Promise<ExitStatus>((resolve, reject) => {
    child.once('error', reject);
    child.once('exit', (code, signal) => {
      done = true;
      resolve({ code, signal });
    });
  });
  const send = (signal: NodeJS.Signals) => {
    if (!done) child.kill(signal);
  };

  return {
    child,
    exited,
    stop: async (graceMs) => {
      send('SIGTERM');
      const timer = setTimeout(() => send('SIGKILL'), graceMs);
      try {
        return await exited;
      } finally {
        clearTimeout(timer);
      }
    },
  };
}

/** A shell-style exit code: the child's own, or 128 + the signal's number. */
export function exitCode(status: ExitStatus): number {
  if (status.code !== null) return status.code;
  const numbers: Partial<Record<NodeJS.Signals, number>> = { SIGINT: 2, SIGKILL: 9, SIGTERM: 15 };
  return 128 + (numbers[status.signal ?? 'SIGKILL'] ?? 1);
}
