import { resolve6 } from 'node:dns/promises';
import { type Config, MAX_STATUS_PEERS } from '../../config/config.js';

/**
 * The other machines of the deployment, as the status page lists them: each one's own
 * `GET /xrpc/_health`, or why it could not be read. A peer that fails is a row, never an error.
 */
export type PeerHealth =
  | { url: string; reachable: true; region: string | undefined; role: string; ready: boolean; lagSeconds: number | undefined }
  | { url: string; reachable: false; reason: string };

export interface Machines {
  peers: PeerHealth[];
  /** Why the peer list itself could not be had (Fly's DNS failed). */
  discoveryError: string | undefined;
}

/** AAAA lookup, as node:dns/promises `resolve6`; tests pass their own. */
export type Resolve6 = (hostname: string) => Promise<string[]>;

export const PEER_TIMEOUT_MS = 2000;

/**
 * Base URLs of the peers: `STATUS_PEERS` when set; on Fly, every machine of the app from
 * its private DNS (`<app>.internal` has one AAAA record per machine, this one included);
 * otherwise none.
 */
export async function peerUrls(config: Config, resolve: Resolve6 = resolve6): Promise<string[]> {
  if (config.statusPeers) return config.statusPeers.slice(0, MAX_STATUS_PEERS);
  if (!config.flyAppName) return [];
  const addresses = await resolve(`${config.flyAppName}.internal`);
  return addresses
    .sort()
    .slice(0, MAX_STATUS_PEERS)
    .map((address) => `http://[${address}]:${config.port}`);
}

/** Finds the peers and reads each one's health, all at once; never throws. */
export async function readMachines(config: Config, resolve: Resolve6 = resolve6): Promise<Machines> {
  let urls: string[];
  try {
    urls = await peerUrls(config, resolve);
  } catch (err) {
    return { peers: [], discoveryError: `peer discovery: ${message(err)}` };
  }
  return { peers: await Promise.all(urls.map((url) => readPeer(url))), discoveryError: undefined };
}

/** One peer's `_health`, parsed narrowly: anything else is a reason. */
export async function readPeer(url: string, timeoutMs = PEER_TIMEOUT_MS): Promise<PeerHealth> {
  try {
    const res = await fetch(new URL('/xrpc/_health', url), { signal: AbortSignal.timeout(timeoutMs) });
    if (!res.ok) return { url, reachable: false, reason: `HTTP ${res.status}` };
    const body = (await res.json()) as Record<string, unknown>;
    if (typeof body.role !== 'string' || typeof body.ready !== 'boolean') return { url, reachable: false, reason: 'not a health answer' };
    return {
      url,
      reachable: true,
      region: typeof body.region === 'string' ? body.region : undefined,
      role: body.role,
      ready: body.ready,
      lagSeconds: typeof body.lag_seconds === 'number' ? body.lag_seconds : undefined,
    };
  } catch (err) {
    return { url, reachable: false, reason: message(err) };
  }
}

function message(err: unknown): string {
  if (err instanceof Error && err.name === 'TimeoutError') return 'timed out';
  const cause = err instanceof Error && err.cause instanceof Error ? `: ${err.cause.message}` : '';
  return err instanceof Error ? `${err.message}${cause}` : String(err);
}
