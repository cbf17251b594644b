/**
 * Waits by polling with a deadline: the machines running the suite are shared and slow,
 * so nothing here sleeps a fixed time and then asserts.
 */
import { commitMark } from './db-content.js';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Polls `check` every `everyMs` until it returns a value; throws naming `what` past the deadline. */
export async function pollUntil<T>(check: () => T | undefined | Promise<T | undefined>, timeoutMs: number, what: string, everyMs = 100): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out after ${Math.round(timeoutMs / 1000)} s waiting for ${what}`);
    await sleep(everyMs);
  }
}

/** `read()`, or undefined while it throws (a database file not created yet, say). */
export function tryRead<T>(read: () => T): T | undefined {
  try {
    return read();
  } catch {
    return undefined;
  }
}

/** Resolves once nothing has committed to `dbPath` for `quietMs`. */
export async function waitQuiet(dbPath: string, quietMs: number, timeoutMs: number): Promise<void> {
  let last = '';
  let since = Date.now();
  await pollUntil(
    () => {
      const mark = tryRead(() => commitMark(dbPath)) ?? '';
      if (mark !== last) {
        last = mark;
        since = Date.now();
        return undefined;
      }
      return Date.now() - since >= quietMs ? true : undefined;
    },
    timeoutMs,
    `${dbPath} to go quiet`,
    Math.min(200, quietMs / 3),
  );
}
