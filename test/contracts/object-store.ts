/**
 * What every ObjectStore does, as the follower and the snapshot guard rely on it, run
 * against each implementation (test/object-store.test.ts). Objects are written the way
 * Litestream writes them to that kind of replica, not through the store under test.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { type ObjectStore, ObjectStoreError } from '../../src/replication/bucket/object-store.js';

export interface StoreUnderTest {
  store: ObjectStore;
  /** Writes an object as Litestream does: a file in the folder, a PUT to the bucket. */
  put(key: string, bytes: Buffer): Promise<void>;
  /** Ways the store can fail: each makes every request from then on fail. */
  failures: Record<string, () => Promise<void>>;
  close(): Promise<void>;
}

const SNAPSHOT = 'db/generations/0123456789abcdef/snapshots/00000000.snapshot.lz4';
const WAL_0 = 'db/generations/0123456789abcdef/wal/00000000_00000000.wal.lz4';
const WAL_1 = 'db/generations/0123456789abcdef/wal/00000000_00001020.wal.lz4';
const OTHER_GENERATION = 'db/generations/fedcba9876543210/snapshots/00000003.snapshot.lz4';

/** Bytes no text encoding survives unchanged: every byte value, twice. */
const BINARY = Buffer.from([...Array.from({ length: 256 }, (_, i) => i), ...Array.from({ length: 256 }, (_, i) => 255 - i)]);

export function describeObjectStore(name: string, open: () => Promise<StoreUnderTest>, failureNames: readonly string[]): void {
  describe(`ObjectStore contract: ${name}`, () => {
    let opened: StoreUnderTest | undefined;
    const fresh = async () => (opened = await open());
    afterEach(async () => {
      await opened?.close();
      opened = undefined;
    });

    it('gets undefined for a key that is not there, also under a prefix that is not', async () => {
      const { store, put } = await fresh();
      await put(WAL_0, BINARY);
      expect(await store.get(WAL_1)).toBeUndefined();
      expect(await store.get('db/generations/ffffffffffffffff/wal/00000000_00000000.wal.lz4')).toBeUndefined();
    });

    it('gets the bytes as written', async () => {
      const { store, put } = await fresh();
      await put(WAL_0, BINARY);
      await put(WAL_1, Buffer.from('second'));
      expect(Buffer.compare((await store.get(WAL_0))!, BINARY)).toBe(0);
      expect((await store.get(WAL_1))!.toString()).toBe('second');
    });

    it('lists the keys and common prefixes directly under a prefix, split at /, in key order, with sizes and times', async () => {
      const { store, put } = await fresh();
      const before = Date.now();
      for (const [key, bytes] of [[WAL_1, Buffer.alloc(7)], [SNAPSHOT, BINARY], [WAL_0, Buffer.alloc(3)], [OTHER_GENERATION, BINARY], ['db/top', Buffer.alloc(1)]] as const) {
        await put(key, bytes);
      }
      const after = Date.now();

      expect(await store.list('')).toEqual({ objects: [], prefixes: ['db/'] });
      const top = await store.list('db/');
      expect(top.prefixes).toEqual(['db/generations/']);
      expect(top.objects.map((o) => [o.key, o.size])).toEqual([['db/top', 1]]);
      expect(await store.list('db/generations/')).toEqual({ objects: [], prefixes: ['db/generations/0123456789abcdef/', 'db/generations/fedcba9876543210/'] });
      expect((await store.list('db/generations/0123456789abcdef/')).prefixes).toEqual([
        'db/generations/0123456789abcdef/snapshots/',
        'db/generations/0123456789abcdef/wal/',
      ]);

      const wal = await store.list('db/generations/0123456789abcdef/wal/');
      expect(wal.prefixes).toEqual([]);
      expect(wal.objects.map((o) => [o.key, o.size])).toEqual([[WAL_0, 3], [WAL_1, 7]]);
      // Times as the store keeps them: S3 to the second, so a second's slack either side.
      for (const { lastModifiedMs } of [...wal.objects, ...top.objects]) {
        expect(lastModifiedMs).toBeGreaterThanOrEqual(before - 1000);
        expect(lastModifiedMs).toBeLessThanOrEqual(after + 1000);
      }
    });

    it('lists a prefix that holds nothing as empty', async () => {
      const { store, put } = await fresh();
      expect(await store.list('db/generations/')).toEqual({ objects: [], prefixes: [] });
      await put(WAL_0, BINARY);
      expect(await store.list('db/generations/fedcba9876543210/wal/')).toEqual({ objects: [], prefixes: [] });
    });

    it('counts its GET and LIST requests, found or not', async () => {
      const { store, put } = await fresh();
      await put(WAL_0, BINARY);
      expect(store.requests).toEqual({ GET: 0, LIST: 0 });
      await store.get(WAL_0);
      await store.get(WAL_1);
      await store.list('db/generations/');
      expect(store.requests).toEqual({ GET: 2, LIST: 1 });
    });

    for (const failure of failureNames) {
      it(`fails with an ObjectStoreError when it ${failure}, and counts the attempts`, async () => {
        const { store, put, failures } = await fresh();
        await put(WAL_0, BINARY);
        await failures[failure]!();
        const get = await store.get(WAL_0).then(() => undefined, (err: unknown) => err);
        const list = await store.list('db/generations/').then(() => undefined, (err: unknown) => err);
        expect(get).toBeInstanceOf(ObjectStoreError);
        expect(list).toBeInstanceOf(ObjectStoreError);
        expect((get as Error).message).toContain(WAL_0);
        expect(store.requests).toEqual({ GET: 1, LIST: 1 });
      });
    }
  });
}
