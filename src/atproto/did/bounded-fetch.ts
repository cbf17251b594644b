/**
 * One DID document over the network, bounded: a deadline over the whole fetch (DNS
 * included) and a cap on the bytes read, so a slow or huge answer costs us little.
 */
import http from 'node:http';
import https from 'node:https';
import type { LookupFunction } from 'node:net';
import type { ResolvedAddress } from './address-guard.js';
import { withDeadline as deadline } from '../../util/deadline.js';
import { DidResolutionError } from './errors.js';

/** The shared deadline, with a DID's timeout error. */
export function withDeadline<T>(did: string, timeoutMs: number, work: (signal: AbortSignal) => Promise<T>): Promise<T> {
  return deadline(timeoutMs, () => new DidResolutionError('DidResolutionTimeout', did, `DID document not fetched within ${timeoutMs} ms`), work);
}

export interface FetchJsonOptions {
  maxBytes: number;
  signal: AbortSignal;
  /** The address the connection goes to, the one checked, so DNS cannot change between the check and the connection. */
  pinned: ResolvedAddress | undefined;
}

/**
 * GET a JSON document, reading at most `maxBytes` of body; null on 404/410, which say
 * positively that the DID does not exist (the library then drops the cache entry).
 */
export function fetchJson(did: string, url: URL, { maxBytes, signal, pinned }: FetchJsonOptions): Promise<unknown> {
  return new Promise((resolve, reject) => {
    // Settle once, then drop the connection: nothing more is read from it.
    const finish = (err: DidResolutionError | undefined, doc?: unknown) => {
      if (err) reject(err);
      else resolve(doc);
      req.destroy();
    };
    const client = url.protocol === 'https:' ? https : http;
    const req = client.request(url, {
      method: 'GET',
      headers: { accept: 'application/did+ld+json, application/json' },
      signal,
      ...(pinned && { lookup: pinnedLookup(pinned) }),
    });
    const failed = (err: Error) => finish(new DidResolutionError('DidUnresolvable', did, `DID document fetch failed (${errorCode(err)})`, { cause: err }));
    req.on('error', failed);
    req.on('response', (res) => {
      res.on('error', failed);
      const status = res.statusCode ?? 0;
      if (status === 404 || status === 410) return finish(undefined, null);
      if (status < 200 || status > 299) return finish(new DidResolutionError('DidUnresolvable', did, `DID document fetch answered HTTP ${status}`));
      if (Number(res.headers['content-length'] ?? 0) > maxBytes) return finish(tooLarge(did, maxBytes));
      const chunks: Buffer[] = [];
      let size = 0;
      res.on('data', (chunk: Buffer) => {
        size += chunk.length;
        if (size > maxBytes) return finish(tooLarge(did, maxBytes));
        chunks.push(chunk);
      });
      res.on('end', () => {
        try {
          finish(undefined, JSON.parse(Buffer.concat(chunks).toString('utf8')));
        } catch (err) {
          finish(new DidResolutionError('DidUnresolvable', did, 'DID document is not JSON', { cause: err }));
        }
      });
    });
    req.end();
  });
}

function tooLarge(did: string, maxBytes: number): DidResolutionError {
  return new DidResolutionError('DidDocumentTooLarge', did, `DID document is larger than ${maxBytes} bytes`);
}

/** A lookup that answers the checked address; Node asks with `all` when it races families. */
function pinnedLookup(pinned: ResolvedAddress): LookupFunction {
  return (_hostname, options, callback) => {
    if (options.all) callback(null, [pinned]);
    else callback(null, pinned.address, pinned.family);
  };
}

function errorCode(err: unknown): string {
  const code = (err as { code?: unknown }).code;
  return typeof code === 'string' ? code : 'network error';
}
