import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { FolderStore, objectStoreFor, S3Store } from '../src/replication/bucket/object-store.js';
import { readLitestreamSettings } from '../src/replication/litestream/settings.js';
import { type S3Server, startS3Server } from '../testkit/standins/s3-server.js';
import { describeObjectStore, type StoreUnderTest } from './contracts/object-store.js';

function openFolderStore(): StoreUnderTest {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'feedgen-store-'));
  const folder = path.join(root, 'replica');
  fs.mkdirSync(folder);
  return {
    store: new FolderStore(folder),
    put: async (key, bytes) => {
      fs.mkdirSync(path.dirname(path.join(folder, key)), { recursive: true });
      fs.writeFileSync(path.join(folder, key), bytes);
    },
    failures: {
      // A volume mounted wrong, a path that is not a folder: not "no such key".
      'is a file, not a folder': async () => {
        fs.rmSync(folder, { recursive: true });
        fs.writeFileSync(folder, 'not a folder');
      },
    },
    close: async () => fs.rmSync(root, { recursive: true, force: true }),
  };
}

function s3StoreOf(s3: S3Server): S3Store {
  const env = s3.env();
  return new S3Store({ endpoint: s3.endpoint, bucket: s3.bucket, region: env.AWS_REGION!, accessKeyId: env.AWS_ACCESS_KEY_ID!, secretAccessKey: env.AWS_SECRET_ACCESS_KEY! });
}

/** A PUT as Litestream makes it (the stand-in takes it unsigned). */
async function putObject(s3: S3Server, key: string, bytes: Buffer): Promise<void> {
  const response = await fetch(`${s3.endpoint}/${s3.bucket}/${key}`, { method: 'PUT', body: new Uint8Array(bytes) });
  if (response.status !== 200) throw new Error(`PUT ${key}: HTTP ${response.status} ${await response.text()}`);
}

async function openS3Store(): Promise<StoreUnderTest> {
  const s3 = await startS3Server();
  return {
    store: s3StoreOf(s3),
    put: (key, bytes) => putObject(s3, key, bytes),
    failures: {
      'answers 503 and 500': async () => s3.answerErrors([503, 500]),
      'is down': () => s3.stop(),
    },
    close: () => s3.close(),
  };
}

describeObjectStore('FolderStore', async () => openFolderStore(), ['is a file, not a folder']);
describeObjectStore('S3Store against the S3 stand-in', openS3Store, ['answers 503 and 500', 'is down']);

describe('S3Store', () => {
  it('asks for consistent reads (X-Tigris-Consistent) on every GET and LIST', async () => {
    const s3 = await startS3Server();
    try {
      const store = s3StoreOf(s3);
      await putObject(s3, 'db/a', Buffer.from('a'));
      expect(await store.get('db/a')).toBeDefined();
      expect(s3.lastHeaders().GET?.['x-tigris-consistent']).toBe('true');
      await store.get('db/missing');
      expect(s3.lastHeaders().GET?.['x-tigris-consistent']).toBe('true');
      await store.list('db/');
      expect(s3.lastHeaders().LIST?.['x-tigris-consistent']).toBe('true');
      expect(s3.requests()).toMatchObject({ GET: 2, LIST: 1 });
    } finally {
      await s3.close();
    }
  });
});

describe('objectStoreFor', () => {
  it("reads the bucket Litestream's settings name, under their key prefix", async () => {
    const s3 = await startS3Server();
    try {
      const settings = readLitestreamSettings({ ...s3.env(), LITESTREAM_PATH: '/prod/' }, '/data');
      const { store, root } = objectStoreFor(settings);
      expect(store).toBeInstanceOf(S3Store);
      expect(root).toBe('prod');
      await putObject(s3, 'prod/generations/0123456789abcdef/snapshots/00000000.snapshot.lz4', Buffer.from('snapshot'));
      expect((await store.get('prod/generations/0123456789abcdef/snapshots/00000000.snapshot.lz4'))?.toString()).toBe('snapshot');
      expect(s3.lastHeaders().GET?.authorization).toMatch(/^AWS4-HMAC-SHA256 Credential=S3RVER\//);
    } finally {
      await s3.close();
    }
  });

  it('reads the folder of a file replica, keys from its top', async () => {
    const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'feedgen-store-'));
    try {
      const settings = readLitestreamSettings({}, dataDir);
      const { store, root } = objectStoreFor(settings);
      expect(store).toBeInstanceOf(FolderStore);
      expect(root).toBe('');
      fs.mkdirSync(path.join(dataDir, 'litestream-replica', 'generations'), { recursive: true });
      expect(await store.list('')).toEqual({ objects: [], prefixes: ['generations/'] });
    } finally {
      fs.rmSync(dataDir, { recursive: true, force: true });
    }
  });
});
