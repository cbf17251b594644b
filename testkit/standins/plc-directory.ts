/**
 * A local stand-in for the PLC directory (plc.directory): `GET /<did>` answers the DID
 * document registered for it, as the real one does, so service auth can be tested
 * without the network. Faults (a slow answer, a huge document) exercise the resolver's
 * bounds.
 */
import { randomBytes } from 'node:crypto';
import { createServer, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { DidDocument } from '@atproto/identity';

/** What a keypair needs to appear in a document (@atproto/crypto keypairs have it). */
export interface PublicKey {
  /** `did:key:z...` */
  did(): string;
}

export type PlcFault =
  /** Wait `delayMs` before the headers, or send half the body and wait before the rest. */
  | { kind: 'slow'; delayMs: number; stage?: 'headers' | 'body' }
  /** Pad the (valid) document to about `bytes`, sent chunked: no Content-Length to go by. */
  | { kind: 'huge'; bytes: number };

export interface PlcDirectory {
  /** http://127.0.0.1:PORT, the resolver's `plcUrl`. */
  url: string;
  /** Register or replace (a key rotation) the DID's document. */
  register(did: string, keyOrDocument: PublicKey | DidDocument, fault?: PlcFault): void;
  unregister(did: string): void;
  /** GETs received for this DID so far: shows what was cached and what was refetched. */
  requests(did: string): number;
  /** GETs received for any DID so far. */
  totalRequests(): number;
  close(): Promise<void>;
}

interface Entry {
  body: string;
  fault: PlcFault | undefined;
}

const CHUNK_BYTES = 16 * 1024;

export async function startPlcDirectory(): Promise<PlcDirectory> {
  const entries = new Map<string, Entry>();
  const counts = new Map<string, number>();
  let total = 0;
  const timers = new Set<NodeJS.Timeout>();
  const later = (ms: number, fn: () => void) => {
    const timer = setTimeout(() => {
      timers.delete(timer);
      fn();
    }, ms);
    timers.add(timer);
  };

  const server = createServer((req, res) => {
    if (req.method !== 'GET') return sendJson(res, 405, { message: 'method not allowed' });
    let did: string;
    try {
      did = decodeURIComponent(new URL(req.url ?? '/', 'http://plc').pathname.slice(1));
    } catch {
      return sendJson(res, 400, { message: 'bad path' });
    }
    counts.set(did, (counts.get(did) ?? 0) + 1);
    total++;
    const entry = entries.get(did);
    if (entry === undefined) return sendJson(res, 404, { message: 'DID not registered' });
    serve(res, entry, later);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;

  return {
    url: `http://127.0.0.1:${port}`,
    register(did, keyOrDocument, fault) {
      const doc = 'did' in keyOrDocument && typeof keyOrDocument.did === 'function' ? atprotoDidDocument(did, keyOrDocument) : keyOrDocument;
      let body = JSON.stringify(doc);
      // Extra members are allowed in a DID document: the padded one is still valid, only big.
      if (fault?.kind === 'huge') body = JSON.stringify({ ...doc, padding: 'x'.repeat(Math.max(0, fault.bytes - body.length)) });
      entries.set(did, { body, fault });
    },
    unregister(did) {
      entries.delete(did);
    },
    requests(did) {
      return counts.get(did) ?? 0;
    },
    totalRequests() {
      return total;
    },
    async close() {
      for (const timer of timers) clearTimeout(timer);
      timers.clear();
      server.closeAllConnections();
      await new Promise<void>((resolve, reject) => server.close((err) => (err ? reject(err) : resolve())));
    },
  };
}

function serve(res: ServerResponse, { body, fault }: Entry, later: (ms: number, fn: () => void) => void): void {
  const headers = { 'content-type': 'application/did+ld+json; charset=utf-8' };
  if (fault?.kind === 'huge') {
    res.writeHead(200, headers); // chunked: the reader must count bytes itself
    for (let at = 0; at < body.length && !res.destroyed; at += CHUNK_BYTES) res.write(body.slice(at, at + CHUNK_BYTES));
    res.end();
    return;
  }
  if (fault?.kind === 'slow' && fault.stage === 'body') {
    res.writeHead(200, headers);
    res.write(body.slice(0, body.length >> 1));
    later(fault.delayMs, () => res.end(body.slice(body.length >> 1)));
    return;
  }
  const send = () => {
    if (!res.destroyed) res.writeHead(200, { ...headers, 'content-length': Buffer.byteLength(body) }).end(body);
  };
  if (fault?.kind === 'slow') later(fault.delayMs, send);
  else send();
}

function sendJson(res: ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body));
}

/**
 * The document plc.directory serves for an account: the `#atproto` key as a Multikey
 * (what @atproto/identity's getKey reads), the handle in `alsoKnownAs`, the PDS.
 */
export function atprotoDidDocument(did: string, key: PublicKey, opts: { handle?: string; pds?: string } = {}): DidDocument {
  return {
    '@context': ['https://www.w3.org/ns/did/v1', 'https://w3id.org/security/multikey/v1', 'https://w3id.org/security/suites/secp256k1-2019/v1'],
    id: did,
    alsoKnownAs: [`at://${opts.handle ?? 'user.test'}`],
    verificationMethod: [
      {
        id: `${did}#atproto`,
        type: 'Multikey',
        controller: did,
        publicKeyMultibase: key.did().slice('did:key:'.length),
      },
    ],
    service: [{ id: '#atproto_pds', type: 'AtprotoPersonalDataServer', serviceEndpoint: opts.pds ?? 'https://pds.test' }],
  };
}

/** A fresh, well-formed did:plc (24 base32 characters). */
export function randomPlcDid(): string {
  const alphabet = 'abcdefghijklmnopqrstuvwxyz234567';
  return `did:plc:${Array.from(randomBytes(24), (b) => alphabet[b & 31]).join('')}`;
}
