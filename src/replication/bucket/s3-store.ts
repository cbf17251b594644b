import { Readable } from 'node:stream';
import type { ReadableStream as WebReadableStream } from 'node:stream/web';
import aws4 from 'aws4';
import { type Listing, type ObjectStore, ObjectStoreError, storeRequest, storeStream } from './object-store-interface.js';

export interface S3Options {
  endpoint: string;
  bucket: string;
  region: string;
  accessKeyId: string;
  secretAccessKey: string;
}

/** A whole request, or a streamed one until its answer's headers and then between two chunks of its body. */
const REQUEST_TIMEOUT_MS = 30_000;

/**
 * Tigris serves a read from the nearest region, which may not have an upload from the
 * primary's region yet: this asks for the latest copy. Other S3 stores ignore it.
 */
const CONSISTENT_READS = { 'X-Tigris-Consistent': 'true' };

/** Path-style S3 requests signed with SigV4 (Tigris, AWS, the local stand-in). */
export class S3Store implements ObjectStore {
  readonly requests = { GET: 0, LIST: 0 };
  private readonly base: URL;

  constructor(private readonly options: S3Options) {
    this.base = new URL(options.endpoint);
  }

  get(key: string): Promise<Buffer | undefined> {
    this.requests.GET += 1;
    return storeRequest(`GET ${key} from ${this.where()}`, async () => {
      const response = await this.send(`/${this.options.bucket}/${encodeKey(key)}`);
      if (response.status === 404) {
        await response.body?.cancel();
        return undefined;
      }
      if (!response.ok) throw new ObjectStoreError(`GET ${key} from ${this.where()}: HTTP ${response.status} ${await response.text()}`);
      return Buffer.from(await response.arrayBuffer());
    });
  }

  getStream(key: string): Promise<Readable | undefined> {
    this.requests.GET += 1;
    const what = `GET ${key} from ${this.where()}`;
    return storeRequest(what, async () => {
      // A large object takes longer than any fixed deadline: this one is for silence.
      const idle = new IdleDeadline(REQUEST_TIMEOUT_MS);
      try {
        const response = await this.send(`/${this.options.bucket}/${encodeKey(key)}`, idle.signal);
        if (response.status === 404) {
          await response.body?.cancel();
          idle.clear();
          return undefined;
        }
        if (!response.ok) throw new ObjectStoreError(`${what}: HTTP ${response.status} ${await response.text()}`);
        const body = response.body ? Readable.fromWeb(response.body as WebReadableStream<Uint8Array>) : Readable.from([]);
        return storeStream(what, body, { onChunk: () => idle.restart(), onClose: () => idle.clear() });
      } catch (err) {
        idle.clear();
        throw err;
      }
    });
  }

  list(prefix: string): Promise<Listing> {
    return storeRequest(`LIST ${prefix} in ${this.where()}`, async () => {
      const listing: Listing = { objects: [], prefixes: [] };
      let token: string | undefined;
      do {
        this.requests.LIST += 1;
        const query = new URLSearchParams({ 'list-type': '2', prefix, delimiter: '/' });
        if (token) query.set('continuation-token', token);
        const response = await this.send(`/${this.options.bucket}?${query.toString()}`);
        const xml = await response.text();
        if (!response.ok) throw new ObjectStoreError(`LIST ${prefix} in ${this.where()}: HTTP ${response.status} ${xml}`);
        for (const block of xml.matchAll(/<Contents>([\s\S]*?)<\/Contents>/g)) {
          const body = block[1]!;
          listing.objects.push({
            key: unescapeXml(tag(body, 'Key') ?? ''),
            lastModifiedMs: Date.parse(tag(body, 'LastModified') ?? ''),
            size: Number(tag(body, 'Size') ?? 0),
          });
        }
        for (const block of xml.matchAll(/<CommonPrefixes>([\s\S]*?)<\/CommonPrefixes>/g)) {
          listing.prefixes.push(unescapeXml(tag(block[1]!, 'Prefix') ?? ''));
        }
        token = tag(xml, 'IsTruncated') === 'true' ? tag(xml, 'NextContinuationToken') : undefined;
      } while (token);
      return listing;
    });
  }

  private send(pathAndQuery: string, signal: AbortSignal = AbortSignal.timeout(REQUEST_TIMEOUT_MS)): Promise<Response> {
    const signed = aws4.sign(
      { host: this.base.host, path: pathAndQuery, method: 'GET', service: 's3', region: this.options.region, headers: { ...CONSISTENT_READS } },
      { accessKeyId: this.options.accessKeyId, secretAccessKey: this.options.secretAccessKey },
    );
    return fetch(new URL(pathAndQuery, this.base), {
      headers: signed.headers as Record<string, string>,
      signal,
    });
  }

  private where(): string {
    return `${this.options.endpoint}/${this.options.bucket}`;
  }
}

/** Aborts once `ms` pass without a restart. */
class IdleDeadline {
  private readonly controller = new AbortController();
  private timer: NodeJS.Timeout;

  constructor(private readonly ms: number) {
    this.timer = this.arm();
  }

  get signal(): AbortSignal {
    return this.controller.signal;
  }

  restart(): void {
    clearTimeout(this.timer);
    this.timer = this.arm();
  }

  clear(): void {
    clearTimeout(this.timer);
  }

  private arm(): NodeJS.Timeout {
    return setTimeout(() => this.controller.abort(new Error(`no answer for ${this.ms} ms`)), this.ms);
  }
}

function encodeKey(key: string): string {
  return key.split('/').map(encodeURIComponent).join('/');
}

function tag(xml: string, name: string): string | undefined {
  return new RegExp(`<${name}>([\\s\\S]*?)</${name}>`).exec(xml)?.[1];
}

function unescapeXml(text: string): string {
  return text.replace(/&lt;/g, '<').replace(/&gt;/g, '>').replace(/&quot;/g, '"').replace(/&apos;/g, "'").replace(/&amp;/g, '&');
}
