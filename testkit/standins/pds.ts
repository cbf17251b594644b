/**
 * A stand-in PDS for tests: one account, records and blobs in memory, and just the XRPC
 * methods `npm run publish-feed` uses through @atproto/api's AtpAgent:
 *
 *   com.atproto.server.createSession   (login; checks the identifier and password)
 *   com.atproto.server.getSession      (not called by login; answered for completeness)
 *   com.atproto.server.refreshSession  (called by the agent only when a token expires)
 *   com.atproto.repo.getRecord         (400 RecordNotFound when absent, as a real PDS answers)
 *   com.atproto.repo.putRecord         (create or replace; honours swapRecord)
 *   com.atproto.repo.uploadBlob        (raw body; the ref is the CIDv1 raw sha2-256 of the bytes)
 *
 * Every request is recorded (method, HTTP verb, whether an Authorization header came and
 * whether it was valid, params, body) so tests can assert on what a client sent. Record
 * CIDs hash the record's JSON rather than its DAG-CBOR encoding: well-formed, not the
 * CIDs a real PDS would give. Listens on 127.0.0.1 only.
 */
import { randomBytes } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { CODEC_DAG_CBOR, cidV1 } from '../../src/publish/cid.js';

export interface StandinPdsOptions {
  handle: string;
  did: string;
  password: string;
  /**
   * Answer createSession with a DID document whose PDS endpoint is this server, as
   * bsky.social does (the agent then sends everything there). Default true.
   */
  didDoc?: boolean;
  /** Default 0: an ephemeral port. */
  port?: number;
}

export interface PdsCall {
  /** The XRPC method, e.g. `com.atproto.repo.putRecord`. */
  nsid: string;
  httpMethod: string;
  /** An Authorization header was sent ... */
  hasAuthHeader: boolean;
  /** ... and it carried a token this server issued. */
  authorized: boolean;
  params: Record<string, string>;
  /** Parsed JSON for JSON bodies; for blobs `{ bytes, contentType }`; undefined if none. */
  body: unknown;
  status: number;
}

export interface StoredRecord {
  uri: string;
  cid: string;
  value: Record<string, unknown>;
}

export interface StandinPds {
  /** `http://127.0.0.1:<port>` */
  url: string;
  calls: PdsCall[];
  /** Keyed by `<collection>/<rkey>`. */
  records: Map<string, StoredRecord>;
  /** Keyed by CID. */
  blobs: Map<string, { mimeType: string; bytes: Buffer }>;
  close(): Promise<void>;
}

const MAX_BODY_BYTES = 10 * 1024 * 1024;

class XrpcError extends Error {
  constructor(
    readonly status: number,
    readonly error: string,
    message: string,
  ) {
    super(message);
  }
}

export async function startStandinPds(options: StandinPdsOptions): Promise<StandinPds> {
  const { handle, did, password } = options;
  const calls: PdsCall[] = [];
  const records = new Map<string, StoredRecord>();
  const blobs = new Map<string, { mimeType: string; bytes: Buffer }>();
  const accessTokens = new Set<string>();
  const refreshTokens = new Set<string>();
  let url = '';

  const newSession = (): Record<string, unknown> => {
    const accessJwt = fakeJwt({ scope: 'com.atproto.access', sub: did });
    const refreshJwt = fakeJwt({ scope: 'com.atproto.refresh', sub: did });
    accessTokens.add(accessJwt);
    refreshTokens.add(refreshJwt);
    const session: Record<string, unknown> = { accessJwt, refreshJwt, handle, did, active: true };
    if (options.didDoc ?? true) {
      session['didDoc'] = {
        '@context': ['https://www.w3.org/ns/did/v1'],
        id: did,
        alsoKnownAs: [`at://${handle}`],
        service: [{ id: '#atproto_pds', type: 'AtprotoPersonalDataServer', serviceEndpoint: url }],
      };
    }
    return session;
  };

  const isThisRepo = (repo: string | undefined): boolean => repo === did || repo === handle;

  const handlers: Record<string, { httpMethod: 'GET' | 'POST'; run: (req: Request) => unknown }> = {
    'com.atproto.server.createSession': {
      httpMethod: 'POST',
      run: ({ body }) => {
        const { identifier, password: given } = asObject(body);
        if (typeof identifier !== 'string' || typeof given !== 'string') {
          throw new XrpcError(400, 'InvalidRequest', 'identifier and password are required');
        }
        if (!isThisRepo(identifier) || given !== password) {
          throw new XrpcError(401, 'AuthenticationRequired', 'Invalid identifier or password');
        }
        return newSession();
      },
    },
    'com.atproto.server.getSession': {
      httpMethod: 'GET',
      run: ({ token }) => {
        requireToken(accessTokens, token);
        return { handle, did, active: true };
      },
    },
    'com.atproto.server.refreshSession': {
      httpMethod: 'POST',
      run: ({ token }) => {
        requireToken(refreshTokens, token);
        refreshTokens.delete(token!);
        return newSession();
      },
    },
    'com.atproto.repo.getRecord': {
      httpMethod: 'GET',
      run: ({ params }) => {
        const { repo, collection, rkey } = params;
        if (!repo || !collection || !rkey) throw new XrpcError(400, 'InvalidRequest', 'repo, collection and rkey are required');
        if (!isThisRepo(repo)) throw new XrpcError(400, 'InvalidRequest', `Could not find repo: ${repo}`);
        const stored = records.get(`${collection}/${rkey}`);
        if (stored === undefined) {
          throw new XrpcError(400, 'RecordNotFound', `Could not locate record: at://${did}/${collection}/${rkey}`);
        }
        return stored;
      },
    },
    'com.atproto.repo.putRecord': {
      httpMethod: 'POST',
      run: ({ token, body }) => {
        requireToken(accessTokens, token);
        const { repo, collection, rkey, record, swapRecord } = asObject(body);
        if (typeof repo !== 'string' || typeof collection !== 'string' || typeof rkey !== 'string') {
          throw new XrpcError(400, 'InvalidRequest', 'repo, collection and rkey are required');
        }
        if (!isThisRepo(repo)) throw new XrpcError(400, 'InvalidRequest', `Can not write to the repo of ${repo}`);
        if (typeof record !== 'object' || record === null || Array.isArray(record)) {
          throw new XrpcError(400, 'InvalidRequest', 'record must be an object');
        }
        const value = record as Record<string, unknown>;
        if (value['$type'] !== collection) {
          throw new XrpcError(400, 'InvalidRequest', `Invalid $type: expected ${collection}, got ${String(value['$type'])}`);
        }
        const key = `${collection}/${rkey}`;
        const previous = records.get(key);
        if (swapRecord !== undefined && (swapRecord === null ? previous !== undefined : previous?.cid !== swapRecord)) {
          throw new XrpcError(400, 'InvalidSwap', `Record was at ${previous?.cid ?? 'null'}`);
        }
        const stored: StoredRecord = {
          uri: `at://${did}/${collection}/${rkey}`,
          cid: cidV1(Buffer.from(JSON.stringify(value)), CODEC_DAG_CBOR),
          value,
        };
        records.set(key, stored);
        return { uri: stored.uri, cid: stored.cid, validationStatus: 'valid' };
      },
    },
    'com.atproto.repo.uploadBlob': {
      httpMethod: 'POST',
      run: ({ token, rawBody, contentType }) => {
        requireToken(accessTokens, token);
        if (rawBody.length === 0) throw new XrpcError(400, 'InvalidRequest', 'empty blob');
        const mimeType = contentType ?? 'application/octet-stream';
        const cid = cidV1(rawBody);
        blobs.set(cid, { mimeType, bytes: rawBody });
        return { blob: { $type: 'blob', ref: { $link: cid }, mimeType, size: rawBody.length } };
      },
    },
  };

  const server = createServer((req, res) => {
    serve(req, res).catch((err: unknown) => {
      if (!res.headersSent) sendJson(res, 500, { error: 'InternalServerError', message: String(err) });
    });
  });

  async function serve(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const reqUrl = new URL(req.url ?? '/', 'http://127.0.0.1');
    const nsid = reqUrl.pathname.startsWith('/xrpc/') ? reqUrl.pathname.slice('/xrpc/'.length) : '';
    const params = Object.fromEntries(reqUrl.searchParams);
    const authHeader = req.headers.authorization;
    const token = authHeader?.startsWith('Bearer ') ? authHeader.slice('Bearer '.length) : undefined;
    const contentType = req.headers['content-type']?.split(';')[0]?.trim();

    const call: PdsCall = {
      nsid,
      httpMethod: req.method ?? '',
      hasAuthHeader: authHeader !== undefined,
      authorized: token !== undefined && (accessTokens.has(token) || refreshTokens.has(token)),
      params,
      body: undefined,
      status: 0,
    };
    calls.push(call);

    let status = 200;
    let payload: unknown;
    try {
      const rawBody = await readBody(req);
      if (rawBody.length > 0) {
        if (contentType === 'application/json') {
          try {
            call.body = JSON.parse(rawBody.toString('utf8'));
          } catch {
            throw new XrpcError(400, 'InvalidRequest', 'the body is not JSON');
          }
        } else {
          call.body = { bytes: rawBody.length, contentType };
        }
      }
      const handler = handlers[nsid];
      if (handler === undefined) throw new XrpcError(501, 'MethodNotImplemented', `Method Not Implemented: ${nsid}`);
      if (req.method !== handler.httpMethod) throw new XrpcError(405, 'InvalidRequest', `Incorrect HTTP method (${req.method})`);
      payload = handler.run({ params, body: call.body, rawBody, contentType, token });
    } catch (err) {
      if (!(err instanceof XrpcError)) throw err;
      status = err.status;
      payload = { error: err.error, message: err.message };
    }
    call.status = status;
    sendJson(res, status, payload);
  }

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, '127.0.0.1', () => resolve());
  });
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;

  return {
    url,
    calls,
    records,
    blobs,
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.close((err) => (err ? reject(err) : resolve()));
        server.closeAllConnections();
      }),
  };
}

interface Request {
  params: Record<string, string>;
  body: unknown;
  rawBody: Buffer;
  contentType: string | undefined;
  token: string | undefined;
}

function requireToken(valid: Set<string>, token: string | undefined): void {
  if (token === undefined) throw new XrpcError(401, 'AuthenticationRequired', 'Authentication Required');
  if (!valid.has(token)) throw new XrpcError(400, 'InvalidToken', 'Token could not be verified');
}

function asObject(body: unknown): Record<string, unknown> {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) {
    throw new XrpcError(400, 'InvalidRequest', 'A JSON object body is required');
  }
  return body as Record<string, unknown>;
}

function fakeJwt(claims: Record<string, unknown>): string {
  const now = Math.floor(Date.now() / 1000);
  const part = (value: unknown): string => Buffer.from(JSON.stringify(value)).toString('base64url');
  return [part({ typ: 'at+jwt', alg: 'ES256K' }), part({ ...claims, iat: now, exp: now + 7200 }), randomBytes(32).toString('base64url')].join('.');
}

async function readBody(req: IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    const buf = chunk as Buffer;
    size += buf.length;
    if (size > MAX_BODY_BYTES) throw new XrpcError(413, 'PayloadTooLarge', 'request body too large');
    chunks.push(buf);
  }
  return Buffer.concat(chunks);
}

function sendJson(res: ServerResponse, status: number, payload: unknown): void {
  const body = JSON.stringify(payload ?? {});
  res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'content-length': Buffer.byteLength(body) });
  res.end(body);
}
