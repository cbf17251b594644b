import type { Dirent } from 'node:fs';
import fs from 'node:fs/promises';
import path from 'node:path';
import type { Readable } from 'node:stream';
import { type Listing, type ObjectStore, storeRequest, storeStream } from './object-store-interface.js';

/** Bytes per read of a streamed file. */
const STREAM_CHUNK_BYTES = 1 << 20;

/** Litestream's file replica: the same key layout, as files under a folder. */
export class FolderStore implements ObjectStore {
  readonly requests = { GET: 0, LIST: 0 };

  constructor(private readonly folder: string) {}

  get(key: string): Promise<Buffer | undefined> {
    this.requests.GET += 1;
    return storeRequest(`GET ${key} from ${this.folder}`, async () => {
      try {
        return await fs.readFile(path.join(this.folder, key));
      } catch (err) {
        if (isMissing(err)) return undefined;
        throw err;
      }
    });
  }

  getStream(key: string): Promise<Readable | undefined> {
    this.requests.GET += 1;
    const what = `GET ${key} from ${this.folder}`;
    return storeRequest(what, async () => {
      // Opened first, so a missing file is undefined here rather than an error from the stream.
      let file: fs.FileHandle;
      try {
        file = await fs.open(path.join(this.folder, key));
      } catch (err) {
        if (isMissing(err)) return undefined;
        throw err;
      }
      return storeStream(what, file.createReadStream({ highWaterMark: STREAM_CHUNK_BYTES }));
    });
  }

  list(prefix: string): Promise<Listing> {
    this.requests.LIST += 1;
    return storeRequest(`LIST ${prefix} in ${this.folder}`, async () => {
      const dir = path.join(this.folder, prefix);
      let entries: Dirent[];
      try {
        entries = await fs.readdir(dir, { withFileTypes: true });
      } catch (err) {
        if (isMissing(err)) return { objects: [], prefixes: [] };
        throw err;
      }
      entries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
      const listing: Listing = { objects: [], prefixes: [] };
      for (const entry of entries) {
        if (entry.isDirectory()) {
          listing.prefixes.push(`${prefix}${entry.name}/`);
          continue;
        }
        // Litestream's retention may delete a file between the listing and its stat.
        const stat = await fs.stat(path.join(dir, entry.name)).catch((err: unknown) => (isMissing(err) ? undefined : Promise.reject(err)));
        if (stat) listing.objects.push({ key: `${prefix}${entry.name}`, lastModifiedMs: stat.mtimeMs, size: stat.size });
      }
      return listing;
    });
  }
}

function isMissing(err: unknown): boolean {
  return (err as NodeJS.ErrnoException).code === 'ENOENT';
}
