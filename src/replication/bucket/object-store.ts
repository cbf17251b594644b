import fs from 'node:fs/promises';
import path from 'node:path';
import aws4 from 'aws4';
import type { LitestreamSettings } from '../litestream/settings.js';

/** What the follower reads of Litestream's replica: objects by key, and listings. */
export interface ObjectStore {
  /** The object's bytes, or undefined when there is no such key. */
  get(key: string): Promise<Buffer | undefined>;
  /** Keys (with their times) and common prefixes directly under `prefix`, split at `/`. */
  list(prefix: string): Promise<Listing>;
  /** Requests made so far by billing class (GET is class B, LIST class A). */
  readonly requests: { GET: number; LIST: number };
}

export interface Listing {
  objects: { key: string; lastModifiedMs: number; size: number }[];
  prefixes: string[];
}

export class ObjectStoreError extends Error {
  override name = 'ObjectStoreError';
}

const REQUEST_TIMEOUT_MS = 30_000;

/** The replica Litestream writes to, per the same settings (bucket, or local folder). */
export function objectStoreFor(settings: LitestreamSettings): { store: ObjectStore; root: string } {
  const { replica, env } = settings;
  if (replica.type === 'file') return { store: new FolderStore(replica.folder), root: '' };
  const endpoint = env.AWS_ENDPOINT_URL_S3 || `https://s3.${env.AWS_REGION || 'us-east-1'}.amazonaws.com`;
  const store = new S3Store({
    endpoint,
    bucket: replica.bucket,
    region: env.AWS_REGION || 'us-east-1',
    accessKeyId: env.AWS_ACCESS_KEY_ID ?? '',
    secretAccessKey: env.AWS_SECRET_ACCESS_KEY ?? '',
  });
  return { store, root: replica.prefix.replace(/^\/+|\/+$/g, '') };
}

interface S3Options {
  endpoint: string;
  bucket: string;
  region: string;
  accessKeyId: string;
  secretAccessKey: string;
}

/** Path-style S3 requests signed with SigV4 (Tigris, AWS, the local stand-in). */
export class S3Store implements ObjectStore {
  readonly requests = { GET: 0, LIST: 0 };
  private readonly base: URL;

  constructor(private readonly options: S3Options) {
    this.base = new URL(options.endpoint);
  }

  async get(key: string): Promise<Buffer | undefined> {
    this.requests.GET += 1;
    const response = await this.send(`/${this.options.bucket}/${encodeKey(key)}`);
    if (response.status === 404) return undefined;
    if (!response.ok) throw new ObjectStoreError(`GET ${key}: HTTP ${response.status} ${await response.text()}`);
    return Buffer.from(await response.arrayBuffer());
  }

  async list(prefix: string): Promise<Listing> {
    const listing: Listing = { objects: [], prefixes: [] };
    let token: string | undefined;
    do {
      this.requests.LIST += 1;
      const query = new URLSearchParams({ 'list-type': '2', prefix, delimiter: '/' });
      if (token) query.set('continuation-token', token);
      const response = await this.send(`/${this.options.bucket}?${query.toString()}`);
      const xml = await response.text();
      if (!response.ok) throw new ObjectStoreError(`LIST ${prefix}: HTTP ${response.status} ${xml}`);
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
  }

  private send(pathAndQuery: string): Promise<Response> {
    const signed = aws4.sign(
      { host: this.base.host, path: pathAndQuery, method: 'GET', service: 's3', region: this.options.region, headers: {} },
      { accessKeyId: this.options.accessKeyId, secretAccessKey: this.options.secretAccessKey },
    );
    return fetch(new URL(pathAndQuery, this.base), {
      headers: signed.headers as Record<string, string>,
      signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS),
    });
  }
}

/** Litestream's file replica: the same key layout as files under a folder. */
export class FolderStore implements ObjectStore {
  readonly requests = { GET: 0, LIST: 0 };

  constructor(private readonly folder: string) {}

  async get(key: string): Promise<Buffer | undefined> {
    this.requests.GET += 1;
    try {
      return await fs.readFile(path.join(this.folder, key));
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw err;
    }
  }

  async list(prefix: string): Promise<Listing> {
    this.requests.LIST += 1;
    const dir = path.join(this.folder, prefix);
    let entries: import('node:fs').Dirent[];
    try {
      entries = await fs.readdir(dir, { withFileTypes: true });
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return { objects: [], prefixes: [] };
      throw err;
    }
    const listing: Listing = { objects: [], prefixes: [] };
    for (const entry of entries) {
      if (entry.isDirectory()) listing.prefixes.push(`${prefix}${entry.name}/`);
      else {
        const stat = await fs.stat(path.join(dir, entry.name));
        listing.objects.push({ key: `${prefix}${entry.name}`, lastModifiedMs: stat.mtimeMs, size: stat.size });
      }
    }
    return listing;
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
