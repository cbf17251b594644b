import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fetchJson, withDeadline } from '../src/atproto/did/bounded-fetch.js';
import { DidResolutionError } from '../src/atproto/did/errors.js';
import { didFailure } from './support/did-failure.js';

const DID = 'did:web:doc.example.com';
const MAX_BYTES = 1024;

/** Routes of a loopback document host; each answers as its name says. */
const routes: Record<string, (req: IncomingMessage, res: ServerResponse) => void> = {
  '/doc': (_req, res) => res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ id: DID })),
  '/host': (req, res) => res.writeHead(200).end(JSON.stringify({ host: req.headers.host })),
  '/gone': (_req, res) => res.writeHead(410).end(),
  '/missing': (_req, res) => res.writeHead(404).end(),
  '/broken': (_req, res) => res.writeHead(503).end(),
  '/not-json': (_req, res) => res.writeHead(200).end('<html>'),
  '/declared-huge': (_req, res) => res.writeHead(200, { 'content-length': String(MAX_BYTES + 1) }).end('x'.repeat(MAX_BYTES + 1)),
  // Chunked, no Content-Length: only counting the bytes read catches it.
  '/chunked-huge': (_req, res) => {
    res.writeHead(200);
    for (let i = 0; i < 8; i++) res.write('x'.repeat(MAX_BYTES / 4));
    res.end();
  },
  '/just-fits': (_req, res) => res.writeHead(200).end(JSON.stringify({ pad: 'x'.repeat(MAX_BYTES - 12) })),
  '/never': () => {},
};

let server: Server;
let base: string;
let port: number;
const closedUnanswered: string[] = [];

beforeAll(async () => {
  server = createServer((req, res) => {
    const path = req.url ?? '/';
    res.on('close', () => {
      if (!res.writableEnded) closedUnanswered.push(path);
    });
    (routes[path] ?? ((_q: IncomingMessage, r: ServerResponse) => r.writeHead(500).end()))(req, res);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  port = (server.address() as AddressInfo).port;
  base = `http://127.0.0.1:${port}`;
});
afterAll(async () => {
  server.closeAllConnections();
  await new Promise((resolve) => server.close(resolve));
});

const get = (path: string, signal = new AbortController().signal) => fetchJson(DID, new URL(path, base), { maxBytes: MAX_BYTES, signal, pinned: undefined });


describe('bounded fetch', () => {
  it('answers the parsed document, and null when the host says the DID does not exist', async () => {
    expect(await get('/doc')).toEqual({ id: DID });
    expect(await get('/missing')).toBeNull();
    expect(await get('/gone')).toBeNull();
  });

  it('refuses other statuses and bodies that are not JSON', async () => {
    const broken = await didFailure(get('/broken'));
    expect(broken.name).toBe('DidUnresolvable');
    expect(broken.message).toContain('HTTP 503');
    expect((await didFailure(get('/not-json'))).name).toBe('DidUnresolvable');
  });

  it('refuses a body over the cap, declared or not, and takes one just under it', async () => {
    expect((await didFailure(get('/declared-huge'))).name).toBe('DidDocumentTooLarge');
    expect((await didFailure(get('/chunked-huge'))).name).toBe('DidDocumentTooLarge');
    expect(await get('/just-fits')).toMatchObject({ pad: expect.any(String) });
  });

  it('connects to the pinned address, not to what DNS would say, and keeps the name in the Host header', async () => {
    // .invalid never resolves: the answer can only come through the pin.
    const url = new URL(`http://doc.invalid:${port}/host`);
    const doc = await fetchJson(DID, url, { maxBytes: MAX_BYTES, signal: new AbortController().signal, pinned: { address: '127.0.0.1', family: 4 } });
    expect(doc).toEqual({ host: `doc.invalid:${port}` });
  });

  it('reports a refused connection with its error code', async () => {
    const closed = createServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
    const closedPort = (closed.address() as AddressInfo).port;
    await new Promise((resolve) => closed.close(resolve));
    const err = await didFailure(fetchJson(DID, new URL(`http://127.0.0.1:${closedPort}/doc`), { maxBytes: MAX_BYTES, signal: new AbortController().signal, pinned: undefined }));
    expect(err.name).toBe('DidUnresolvable');
    expect(err.message).toContain('ECONNREFUSED');
  });
});

describe('deadline', () => {
  it('fails a host that never answers with a timeout, and drops the connection', async () => {
    const err = await didFailure(withDeadline(DID, 100, (signal) => get('/never', signal)));
    expect(err.name).toBe('DidResolutionTimeout');
    expect(err.did).toBe(DID);
    await expect.poll(() => closedUnanswered).toContain('/never');
  });

  it('holds for work that ignores the signal (a DNS lookup cannot be aborted)', async () => {
    expect((await didFailure(withDeadline(DID, 50, () => new Promise<never>(() => {})))).name).toBe('DidResolutionTimeout');
  });

  it('answers what the work answers, and aborts its signal once done so nothing lingers', async () => {
    let seen: AbortSignal | undefined;
    const value = await withDeadline(DID, 10_000, async (signal) => {
      seen = signal;
      return 'document';
    });
    expect(value).toBe('document');
    expect(seen?.aborted).toBe(true);
    const err = await withDeadline(DID, 10_000, () => Promise.reject(new DidResolutionError('DidNotFound', DID, 'gone'))).catch((e: unknown) => e);
    expect((err as DidResolutionError).name).toBe('DidNotFound');
  });
});
