/**
 * Waits by polling with a deadline: the machines running the suite are shared and slow,
 * so nothing here sleeps a fixed time and then asserts.
 */
import { waitFor } from '../../../testkit/polling/wait-for.js';
import { commitMark } from './db-content.js';

/** `read()`, or undefined while it throws (a database file not created yet, say). */
export function tryRead<T>(read: () => T): T | undefined {
  try {
    return read();
  } catch {
    return undefined;
  }
}

/** Resolves once nothing has committed to `dbPath` for `quietMs` (the stream ended or stopped, the last batch in). */
export async function waitQuiet(dbPath: string, quietMs: number, timeoutMs: number): Promise<void> {
  let last = '';
  let since = Date.now();
  await waitFor(
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
