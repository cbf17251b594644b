/**
 * The S3 stand-in's objects of one database, on its disk: a test or chaos scenario deletes
 * them as a lifecycle rule or a mistaken `aws s3 rm --recursive` would, and watches what
 * Litestream puts back.
 */
import fs from 'node:fs';
import path from 'node:path';
import type { S3Server } from './s3-server.js';

const OBJECT_SUFFIX = '._S3rver_object';

function prefixDir(s3: S3Server, litestreamPath: string): string {
  return path.join(s3.directory, s3.bucket, litestreamPath);
}

/** Deletes every object under the database's key prefix. */
export function wipePrefix(s3: S3Server, litestreamPath: string): void {
  fs.rmSync(prefixDir(s3, litestreamPath), { recursive: true, force: true });
}

/** Object keys under the prefix (relative to it), by kind: what a restore would find. */
export function objectsUnder(s3: S3Server, litestreamPath: string): { generations: string[]; snapshots: string[]; wal: string[] } {
  const root = path.join(prefixDir(s3, litestreamPath), 'generations');
  const found = { generations: [] as string[], snapshots: [] as string[], wal: [] as string[] };
  if (!fs.existsSync(root)) return found;
  for (const generation of fs.readdirSync(root)) {
    found.generations.push(generation);
    for (const kind of ['snapshots', 'wal'] as const) {
      const dir = path.join(root, generation, kind);
      if (!fs.existsSync(dir)) continue;
      // s3rver keeps each object as `<key>._S3rver_object` beside its metadata.
      for (const name of fs.readdirSync(dir)) if (name.endsWith(OBJECT_SUFFIX)) found[kind].push(`${generation}/${name.slice(0, -OBJECT_SUFFIX.length)}`);
    }
  }
  return found;
}
