/**
 * A local stand-in for Fly's edge proxy (tests and the demo): one instance per region,
 * requests routed and replayed as Fly's docs describe
 * (fly.io/docs/networking/dynamic-request-routing, fly.io/docs/networking/request-headers):
 *
 * - A request goes to the first region of its `fly-prefer-region` list that has an
 *   instance, else to the default region. The instance gets `fly-client-ip`, `fly-region`
 *   (the region where the edge took the connection: here the default one),
 *   `x-forwarded-for` and `x-forwarded-proto`.
 * - An answer carrying `fly-replay` never reaches the client: the same request (method,
 *   path and query, headers, body) goes to the named region (or instance), with
 *   `fly-replay-src: instance=<replaying machine>;region=<its region>;t=<µs>[;state=<state>]`.
 * - Errors are Fly's, by code: a body over 1 MB cannot be replayed (PA01), an instance
 *   replaying a replayed request is stopped (PA02; Fly allows a few hops, this edge one),
 *   an unparsable header (PA03), another app (PA04), a region without instance (PR01), an
 *   instance that does not answer (PU02).
 *
 * Not modelled: the JSON replay format, replay caching, timeouts and fallbacks.
 */
import { createHash } from 'node:crypto';
import { createServer, type IncomingHttpHeaders, type IncomingMessage, request, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { FLY_REPLAY, FLY_REPLAY_FAILED, FLY_REPLAY_SRC, formatFlyReplaySrc, parseFlyReplay } from '../../src/http/fly-headers.js';

export interface FlyEdgeOptions {
  /** Base URL (`http://127.0.0.1:PORT`) of each region's one instance, by region code. */
  regions: Record<string, string>;
  /** Where requests without a usable `fly-prefer-region` go; default: the first region listed. */
  defaultRegion?: string;
  /** Default 0 (ephemeral). */
  port?: number;
  /** Default 127.0.0.1. */
  host?: string;
}

export interface FlyEdgeStats {
  /** Requests received from clients. */
  requests: number;
  /** Client requests delivered to a first instance. */
  forwards: number;
  /** Deliveries made because an instance answered with fly-replay. */
  replays: number;
  /** Deliveries per region, first and replayed. */
  deliveries: Record<string, number>;
  /** Errors the edge answered itself, by Fly's code. */
  errors: Record<string, number>;
}

export interface FlyEdge {
  /** http://HOST:PORT */
  url: string;
  /** The id of a region's instance, as `fly-replay-src` names it. */
  instanceId(region: string): string;
  stats(): FlyEdgeStats;
  close(): Promise<void>;
}

/** Fly buffers at most this much of a body for a replay. */
const MAX_REPLAY_BODY_BYTES = 1024 * 1024;
/** Connection-level request headers, and the ones the edge sets itself. */
const NOT_FORWARDED = new Set(['connection', 'keep-alive', 'proxy-connection', 'transfer-encoding', 'upgrade', 'te', 'trailer', 'host', 'content-length']);
const NOT_RETURNED = new Set(['connection', 'keep-alive', 'transfer-encoding']);

/** An answer of the edge itself, as Fly's proxy gives one: 502 and its error code. */
class EdgeError extends Error {
  constructor(
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

/** A request as the edge holds it: everything needed to deliver it again. */
interface HeldRequest {
  method: string;
  path: string;
  headers: Record<string, string | string[]>;
  body: Buffer;
}

export async function startFlyEdge(options: FlyEdgeOptions): Promise<FlyEdge> {
  const regions = new Map(Object.entries(options.regions));
  const defaultRegion = options.defaultRegion ?? [...regions.keys()][0];
  if (defaultRegion === undefined || !regions.has(defaultRegion)) {
    throw new RangeError(`fly edge: the default region ${JSON.stringify(defaultRegion)} has no instance`);
  }
  const instanceId = (region: string) => createHash('sha256').update(`fly-edge:${region}`).digest('hex').slice(0, 14);
  const stats: FlyEdgeStats = { requests: 0, forwards: 0, replays: 0, deliveries: {}, errors: {} };

  const deliver = (region: string, held: HeldRequest): Promise<IncomingMessage> => {
    stats.deliveries[region] = (stats.deliveries[region] ?? 0) + 1;
    const url = new URL(held.path, regions.get(region));
    return new Promise((resolve, reject) => {
      const out = request(url, { method: held.method, headers: { ...held.headers, 'content-length': String(held.body.length) }, agent: false });
      out.on('response', resolve);
      out.on('error', (err) => reject(new EdgeError('PU02', `failed to complete HTTP request to the instance in ${region}: ${err.message}`)));
      out.end(held.body);
    });
  };

  /** The region a fly-replay answer names, or the edge's error for it. */
  const replayTarget = (value: string): { region: string; state: string | undefined; fallback: string | undefined } => {
    const replay = parseFlyReplay(value);
    if (!replay) throw new EdgeError('PA03', `could not parse 'fly-replay' response header returned by app: ${JSON.stringify(value)}`);
    if (replay.app !== undefined) throw new EdgeError('PA04', `'fly-replay' targets app ${JSON.stringify(replay.app)}, which this edge does not know`);
    const byInstance = [...regions.keys()].find((region) => instanceId(region) === (replay.instance ?? replay.fields.prefer_instance));
    const region = byInstance ?? replay.regions.map((r) => (r === 'any' ? defaultRegion : r)).find((r) => regions.has(r));
    if (region === undefined) throw new EdgeError('PR01', `no known healthy instances found for route (fly-replay: ${value})`);
    return { region, state: replay.state, fallback: replay.fields.fallback };
  };

  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    // 1. Hold the whole request, so it can be delivered twice.
    const held: HeldRequest = { method: req.method ?? 'GET', path: req.url ?? '/', headers: forwardedHeaders(req, defaultRegion), body: await readBody(req) };
    // 2. First delivery: the preferred region, else the default one.
    let region = preferredRegion(req.headers['fly-prefer-region'], regions) ?? defaultRegion;
    stats.forwards++;
    let answer = await deliver(region, held);
    // 3. At most one replay: a replayed request answered with fly-replay again is an error.
    const replay = answer.headers[FLY_REPLAY];
    if (typeof replay === 'string') {
      answer.resume();
      const target = replayTarget(replay);
      if (held.body.length > MAX_REPLAY_BODY_BYTES) {
        throw new EdgeError('PA01', "cannot retry/replay request because request body has been read past what we're willing to buffer");
      }
      held.headers[FLY_REPLAY_SRC] = formatFlyReplaySrc({ instance: instanceId(region), region, t: Date.now() * 1000, state: target.state });
      const from = region;
      region = target.region;
      stats.replays++;
      try {
        answer = await deliver(region, held);
      } catch (err) {
        // fallback=force_self|prefer_self: back to the machine that replayed, saying why.
        if (!(err instanceof EdgeError) || (target.fallback !== 'force_self' && target.fallback !== 'prefer_self')) throw err;
        delete held.headers[FLY_REPLAY_SRC];
        held.headers[FLY_REPLAY_FAILED] = `error=${err.code}`;
        region = from;
        answer = await deliver(region, held);
      }
      if (answer.headers[FLY_REPLAY] !== undefined) {
        answer.resume();
        throw new EdgeError('PA02', "'fly-replay' response header was returned too many times, stopping there");
      }
    }
    // 4. The answer goes back as it came.
    const headers = Object.fromEntries(Object.entries(answer.headers).filter(([name]) => !NOT_RETURNED.has(name)));
    res.writeHead(answer.statusCode ?? 502, headers as IncomingHttpHeaders);
    answer.pipe(res);
  };

  const server = createServer((req, res) => {
    stats.requests++;
    handle(req, res).catch((err: unknown) => {
      const code = err instanceof EdgeError ? err.code : 'PU04';
      stats.errors[code] = (stats.errors[code] ?? 0) + 1;
      if (res.headersSent) return void res.destroy();
      res.writeHead(502, { 'content-type': 'text/plain; charset=utf-8' }).end(`fly edge: ${code}: ${(err as Error).message}\n`);
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, options.host ?? '127.0.0.1', () => resolve());
  });
  const { address, port } = server.address() as AddressInfo;

  return {
    url: `http://${address}:${port}`,
    instanceId,
    stats: () => structuredClone(stats),
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.close((err) => (err ? reject(err) : resolve()));
        server.closeAllConnections();
      }),
  };
}

/** The client's headers, less the connection's, plus what Fly's proxy adds. */
function forwardedHeaders(req: IncomingMessage, edgeRegion: string): Record<string, string | string[]> {
  const headers: Record<string, string | string[]> = {};
  for (const [name, value] of Object.entries(req.headers)) {
    if (value !== undefined && !NOT_FORWARDED.has(name)) headers[name] = value;
  }
  const client = req.socket.remoteAddress ?? '';
  const forwardedFor = req.headers['x-forwarded-for'];
  headers['fly-client-ip'] = client;
  headers['fly-region'] = edgeRegion;
  headers['x-forwarded-for'] = forwardedFor ? `${String(forwardedFor)}, ${client}` : client;
  headers['x-forwarded-proto'] = 'http';
  return headers;
}

/** The first region of a `fly-prefer-region` list that has an instance. */
function preferredRegion(header: string | string[] | undefined, regions: Map<string, string>): string | undefined {
  if (typeof header !== 'string') return undefined;
  return header.split(',').map((r) => r.trim()).find((r) => regions.has(r));
}

async function readBody(req: IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}
