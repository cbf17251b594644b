import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { shadowDirOf } from '../src/replication/litestream/shadow-wal.js';
import { SnapshotGuard } from '../src/replication/litestream/snapshot-guard.js';
import { createLogger } from '../src/observability/logger.js';
import { ReplicaLayout } from '../src/replication/bucket/layout.js';
import { FolderStore, type ObjectStore } from '../src/replication/bucket/object-store.js';

const GENERATION = '0123456789abcdef';
const dirs: string[] = [];
afterEach(() => dirs.splice(0).forEach((dir) => fs.rmSync(dir, { recursive: true, force: true })));

/** A data folder whose Litestream state names GENERATION, and a replica folder holding one snapshot of it. */
function setup() {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'feedgen-guard-'));
  dirs.push(root);
  const dbPath = path.join(root, 'data', 'feed.db');
  fs.mkdirSync(shadowDirOf(dbPath), { recursive: true });
  fs.writeFileSync(path.join(shadowDirOf(dbPath), 'generation'), `${GENERATION}\n`);
  const replica = path.join(root, 'replica');
  const layout = new ReplicaLayout('');
  const snapshot = path.join(replica, layout.snapshotKey(GENERATION, 0));
  fs.mkdirSync(path.dirname(snapshot), { recursive: true });
  fs.writeFileSync(snapshot, 'lz4 bytes');
  const guard = (store: ObjectStore = new FolderStore(replica)) => new SnapshotGuard(store, layout, shadowDirOf(dbPath), createLogger('silent'));
  return { dbPath, snapshot, guard };
}

describe('SnapshotGuard', () => {
  it('reports the generation once two checks running find no snapshot of it', async () => {
    const { snapshot, guard } = setup();
    const g = guard();
    expect(await g.check()).toBeUndefined();
    fs.rmSync(snapshot);
    expect(await g.check()).toBeUndefined(); // could be a first snapshot still uploading
    expect(await g.check()).toBe(GENERATION);
  });

  it('forgets a miss when the snapshot is there again', async () => {
    const { snapshot, guard } = setup();
    const g = guard();
    fs.renameSync(snapshot, `${snapshot}.away`);
    expect(await g.check()).toBeUndefined();
    fs.renameSync(`${snapshot}.away`, snapshot);
    expect(await g.check()).toBeUndefined();
    fs.rmSync(snapshot);
    expect(await g.check()).toBeUndefined();
  });

  it('proves nothing while the store cannot be listed, or before Litestream has a generation', async () => {
    const { dbPath, snapshot, guard } = setup();
    fs.rmSync(snapshot);
    const down: ObjectStore = {
      requests: { GET: 0, LIST: 0 },
      get: () => Promise.reject(new Error('connection refused')),
      getStream: () => Promise.reject(new Error('connection refused')),
      list: () => Promise.reject(new Error('connection refused')),
    };
    const g = guard(down);
    for (let k = 0; k < 3; k++) expect(await g.check()).toBeUndefined();

    fs.rmSync(path.join(shadowDirOf(dbPath), 'generation'));
    const fresh = guard();
    for (let k = 0; k < 3; k++) expect(await fresh.check()).toBeUndefined();
  });
});
