/**
 * Runs `work` under a deadline; `work` gets the signal to abort what it can. What it
 * cannot (a DNS lookup) is raced, so the deadline holds either way. At the deadline the
 * promise rejects with `onTimeout()`.
 */
export async function withDeadline<T>(timeoutMs: number, onTimeout: () => Error, work: (signal: AbortSignal) => Promise<T>): Promise<T> {
  const abort = new AbortController();
  const timer = setTimeout(() => abort.abort(onTimeout()), timeoutMs);
  try {
    return await raceAbort(work(abort.signal), abort.signal);
  } finally {
    clearTimeout(timer);
    abort.abort();
  }
}

function raceAbort<T>(work: Promise<T>, signal: AbortSignal): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(signal.reason);
    signal.addEventListener('abort', onAbort, { once: true });
    work.then(resolve, reject).finally(() => signal.removeEventListener('abort', onAbort));
  });
}
