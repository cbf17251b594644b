/** What a node's `GET /xrpc/_health` answers. */
export interface Health {
  version: string;
  role: 'primary' | 'replica';
  region: string | null;
  ready: boolean;
  /** 0 on the primary; null before a replica's first heartbeat. */
  lag_seconds: number | null;
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

/** A one-word account of a node's state, for progress lines. */
export function describeHealth(health: Health | undefined): string {
  if (!health) return 'starting';
  if (health.ready) return health.role === 'primary' ? 'ready' : `ready, lag ${health.lag_seconds?.toFixed(1)} s`;
  if (health.role === 'primary') return 'loading';
  return health.lag_seconds === null ? 'waiting for a copy in the bucket' : `catching up, lag ${health.lag_seconds.toFixed(1)} s`;
}
