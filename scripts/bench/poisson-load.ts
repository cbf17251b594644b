/**
 * Open-loop feed load with Poisson arrivals: each request starts at an exponential gap
 * after the last one, whatever the answers do, as requests of many independent users
 * reach us through the AppView. autocannon paces its n connections alike, so they fire
 * in bursts of n; this measures the same rate without the bursts. Latency counts from
 * the planned start, so a slow client side cannot hide queueing (no coordinated omission).
 */
import { Agent, request } from 'node:http';
import { Rng } from '../../testkit/dataset/random.js';
import type { LoadResult } from './feed-load.js';

const REQUEST_TIMEOUT_MS = 10_000;

export async function runPoissonFeedLoad(
  baseUrl: string,
  feedUri: string,
  tokens: string[],
  load: { ratePerS: number; seconds: number; seed: number },
): Promise<LoadResult> {
  const rng = new Rng(load.seed);
  const agent = new Agent({ keepAlive: true, maxSockets: 512 });
  const path = `/xrpc/app.bsky.feed.getFeedSkeleton?feed=${encodeURIComponent(feedUri)}&limit=30`;
  const latenciesMs: number[] = [];
  const statuses: Record<string, number> = {};
  let errors = 0;
  const inFlight = new Set<Promise<void>>();

  const send = (plannedMs: number, token: string) => {
    const done = new Promise<void>((resolve) => {
      const req = request(`${baseUrl}${path}`, { agent, headers: { authorization: `Bearer ${token}` }, timeout: REQUEST_TIMEOUT_MS }, (res) => {
        res.resume();
        res.on('end', () => {
          latenciesMs.push(performance.now() - plannedMs);
          statuses[String(res.statusCode)] = (statuses[String(res.statusCode)] ?? 0) + 1;
          resolve();
        });
      });
      req.on('timeout', () => req.destroy(new Error('timeout')));
      req.on('error', () => {
        errors++;
        resolve();
      });
      req.end();
    });
    inFlight.add(done);
    void done.then(() => inFlight.delete(done));
  };

  const startedMs = performance.now();
  const endMs = startedMs + load.seconds * 1000;
  let nextMs = startedMs;
  let sent = 0;
  while (nextMs < endMs) {
    // Everything due by now goes out at once; then sleep until the next arrival.
    while (nextMs <= performance.now() && nextMs < endMs) {
      send(nextMs, tokens[sent++ % tokens.length]!);
      nextMs += rng.exponential(1000 / load.ratePerS);
    }
    await new Promise((resolve) => setTimeout(resolve, Math.max(0, nextMs - performance.now())));
  }
  await Promise.all(inFlight);
  agent.destroy();

  latenciesMs.sort((a, b) => a - b);
  const at = (q: number) => (latenciesMs.length ? Number(latenciesMs[Math.min(latenciesMs.length - 1, Math.floor(q * latenciesMs.length))]!.toFixed(1)) : 0);
  const ok = Object.entries(statuses).reduce((n, [code, count]) => n + (code.startsWith('2') ? count : 0), 0);
  return {
    requests: sent,
    non2xx: latenciesMs.length - ok,
    errors,
    p50Ms: at(0.5),
    p99Ms: at(0.99),
    rps: latenciesMs.length / load.seconds,
    statuses,
  };
}
