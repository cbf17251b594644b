/**
 * A local stand-in for the Bluesky AppView's `app.bsky.graph.getFollows`: a real HTTP
 * server on 127.0.0.1 answering from a map DID → followed DIDs, newest first, in pages
 * of `limit` (1..100) with an opaque cursor, as the real one does. Faults (a delay, an
 * error status, a malformed body) and a request counter test the client's bounds.
 */
import { createServer, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

export type AppViewFault =
  /** Wait this long before answering (longer than the client's timeout: a dead AppView). */
  | { kind: 'delay'; ms: number }
  /** Answer this HTTP status with an XRPC error body. */
  | { kind: 'status'; status: number }
  /** Answer 200 with a body that is not the lexicon's: not JSON, or JSON of the wrong shape. */
  | { kind: 'malformed'; body: string };

export interface StandInAppView {
  /** http://127.0.0.1:PORT: FOLLOWS_APPVIEW_URL. */
  url: string;
  /** Sets who `did` follows, newest first (replacing what it followed before). */
  setFollows(did: string, follows: readonly string[]): void;
  /** Every request answers with `fault` until it is cleared (undefined). */
  setFault(fault: AppViewFault | undefined): void;
  /** getFollows requests received for `did` (every page counts), or for anyone. */
  requests(did?: string): number;
  close(): Promise<void>;
}

const MAX_LIMIT = 100;
const DEFAULT_LIMIT = 50;

export async function startAppView(initial: ReadonlyMap<string, readonly string[]> = new Map()): Promise<StandInAppView> {
  const follows = new Map(initial);
  const counts = new Map<string, number>();
  let total = 0;
  let fault: AppViewFault | undefined;
  const timers = new Set<NodeJS.Timeout>();

  const server = createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://appview');
    if (req.method !== 'GET' || url.pathname !== '/xrpc/app.bsky.graph.getFollows') return xrpcError(res, 404, 'MethodNotImplemented', 'no such method');
    const actor = url.searchParams.get('actor') ?? '';
    counts.set(actor, (counts.get(actor) ?? 0) + 1);
    total++;
    const answer = () => (fault ? faulty(res, fault) : page(res, actor, follows.get(actor), url.searchParams));
    if (fault?.kind !== 'delay') return answer();
    const timer = setTimeout(() => {
      timers.delete(timer);
      if (!res.destroyed) page(res, actor, follows.get(actor), url.searchParams);
    }, fault.ms);
    timers.add(timer);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;

  return {
    url: `http://127.0.0.1:${port}`,
    setFollows: (did, list) => void follows.set(did, [...list]),
    setFault: (next) => void (fault = next),
    requests: (did) => (did === undefined ? total : (counts.get(did) ?? 0)),
    close: async () => {
      for (const timer of timers) clearTimeout(timer);
      server.closeAllConnections();
      await new Promise<void>((resolve, reject) => server.close((err) => (err ? reject(err) : resolve())));
    },
  };
}

/** One page: `limit` profiles from the cursor's offset, and a cursor while more remain. */
function page(res: ServerResponse, actor: string, list: readonly string[] | undefined, params: URLSearchParams): void {
  if (list === undefined) return xrpcError(res, 400, 'InvalidRequest', 'Profile not found');
  const limit = params.has('limit') ? Number(params.get('limit')) : DEFAULT_LIMIT;
  if (!Number.isInteger(limit) || limit < 1 || limit > MAX_LIMIT) return xrpcError(res, 400, 'InvalidRequest', 'limit must be 1..100');
  const cursor = params.get('cursor');
  const offset = cursor === null ? 0 : Number(Buffer.from(cursor, 'base64url').toString());
  if (!Number.isInteger(offset) || offset < 0) return xrpcError(res, 400, 'InvalidRequest', 'malformed cursor');
  const slice = list.slice(offset, offset + limit);
  const next = offset + slice.length < list.length ? Buffer.from(String(offset + slice.length)).toString('base64url') : undefined;
  sendJson(res, 200, { subject: profile(actor), ...(next ? { cursor: next } : {}), follows: slice.map(profile) });
}

function faulty(res: ServerResponse, fault: AppViewFault): void {
  if (fault.kind === 'status') return xrpcError(res, fault.status, 'InternalServerError', 'stand-in fault');
  if (fault.kind === 'malformed') {
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(fault.body);
  }
}

/** A profile view as getFollows lists it: `did` and `handle` are required, the rest optional. */
function profile(did: string) {
  return { did, handle: `${did.slice(did.lastIndexOf(':') + 1)}.test`, labels: [] };
}

function xrpcError(res: ServerResponse, status: number, error: string, message: string): void {
  sendJson(res, status, { error, message });
}

function sendJson(res: ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { 'content-type': 'application/json' });
  res.end(JSON.stringify(body));
}
