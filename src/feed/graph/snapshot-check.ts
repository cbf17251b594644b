/**
 * Whether a graph snapshot can stand for this database. The graph is a function of the
 * database read through GraphSync's cursors (the last like id read, the last change seq
 * applied, the floor), so a snapshot can be used when the database still holds that
 * point and everything after it:
 *
 *  - the likes row at the snapshot's last like id is the one the snapshot read (its
 *    actor, post and time): not another database, nor this one restored to before it;
 *  - that row is not pruned yet (else the snapshot's likes are all gone: nothing to save);
 *  - the change log reaches the snapshot's seq, its row at that seq (unless pruned) is the
 *    one the snapshot applied, and no change after it is pruned (the pruner drops the
 *    oldest changes with the likes of their time);
 *  - the memory budget is the one it was taken under, or larger without a memory floor
 *    (a snapshot under a smaller budget's floor would hold fewer likes than a load).
 */
import type { ReaderDb } from '../../store/database.js';
import { META } from '../../store/meta.js';
import type { SnapshotProblem } from './graph-snapshot.js';

/** What a snapshot says of the database it was read from, besides the graph. */
export interface SnapshotMeta {
  writtenAtMs: number;
  /** GraphSync's cursors when it was written. */
  lastLikeId: number;
  lastChangeSeq: number;
  /** The likes row at lastLikeId, as it was read. */
  like: LikeFingerprint;
  /** The changes row at lastChangeSeq, as it was applied (null: none, or pruned). */
  change: ChangeFingerprint | null;
  /** Likes at or below this were left out for memory (0: none). */
  memoryFloorId: number;
  /** The memory budget it was taken under (null: none). */
  budgetBytes: number | null;
  graphBytes: number;
  likes: number;
}

export interface LikeFingerprint {
  actorId: number;
  postId: number;
  timeUs: number;
}

export interface ChangeFingerprint {
  kind: number;
  refId: number;
}

/** Why a start did not use the snapshot (a file problem, or one of these). */
export type SnapshotRejection = SnapshotProblem | 'disabled' | 'meta' | 'fingerprint' | 'likes-pruned' | 'changes-pruned' | 'budget';

export type SnapshotVerdict = { usable: true; meta: SnapshotMeta } | { usable: false; reason: SnapshotRejection; detail: string };

/** The likes row at `id`; undefined once pruned. */
export function likeFingerprint(db: ReaderDb, id: number): LikeFingerprint | undefined {
  const row = db.prepare<[number], { actor_id: number; post_id: number; time_us: number }>('SELECT actor_id, post_id, time_us FROM likes WHERE id = ?').get(id);
  return row && { actorId: row.actor_id, postId: row.post_id, timeUs: row.time_us };
}

/** The changes row at `seq`; undefined for none (seq 0, or pruned). */
export function changeFingerprint(db: ReaderDb, seq: number): ChangeFingerprint | undefined {
  const row = db.prepare<[number], { kind: number; ref_id: number }>('SELECT kind, ref_id FROM changes WHERE seq = ?').get(seq);
  return row && { kind: row.kind, refId: row.ref_id };
}

export function checkSnapshot(rawMeta: unknown, db: ReaderDb, budgetBytes: number | undefined): SnapshotVerdict {
  const meta = parseMeta(rawMeta);
  if (!meta) return { usable: false, reason: 'meta', detail: 'the snapshot meta is not what this version writes' };
  const reject = (reason: SnapshotRejection, detail: string): SnapshotVerdict => ({ usable: false, reason, detail });

  const like = likeFingerprint(db, meta.lastLikeId);
  if (!like) {
    const pruned = db.prepare<[], { value: number }>(`SELECT value FROM meta WHERE key = '${META.prunedLikeId}'`).get()?.value ?? 0;
    return pruned >= meta.lastLikeId
      ? reject('likes-pruned', `every like it holds is pruned (through ${pruned}, it read through ${meta.lastLikeId})`)
      : reject('fingerprint', `the database has no like ${meta.lastLikeId}`);
  }
  if (like.actorId !== meta.like.actorId || like.postId !== meta.like.postId || like.timeUs !== meta.like.timeUs) {
    return reject('fingerprint', `like ${meta.lastLikeId} is ${JSON.stringify(like)} here, ${JSON.stringify(meta.like)} in the snapshot`);
  }

  const highWater = db.prepare<[], number>("SELECT seq FROM sqlite_sequence WHERE name = 'changes'").pluck().get() ?? 0;
  if (highWater < meta.lastChangeSeq) return reject('fingerprint', `the change log ends at ${highWater}, before the snapshot's ${meta.lastChangeSeq}`);
  const change = changeFingerprint(db, meta.lastChangeSeq);
  if (change && meta.change && (change.kind !== meta.change.kind || change.refId !== meta.change.refId)) {
    return reject('fingerprint', `change ${meta.lastChangeSeq} is ${JSON.stringify(change)} here, ${JSON.stringify(meta.change)} in the snapshot`);
  }
  if (highWater > meta.lastChangeSeq) {
    const next = db.prepare<[number], number | null>('SELECT min(seq) FROM changes WHERE seq > ?').pluck().get(meta.lastChangeSeq) ?? null;
    if (next !== meta.lastChangeSeq + 1) return reject('changes-pruned', `changes after ${meta.lastChangeSeq} are pruned (the next held is ${next ?? 'none'})`);
  }

  if (meta.memoryFloorId > 0 && (budgetBytes === undefined || (meta.budgetBytes !== null && budgetBytes > meta.budgetBytes))) {
    return reject('budget', `taken under a ${meta.budgetBytes} byte budget's floor, now ${budgetBytes ?? 'no'} budget: a load holds more`);
  }
  if (budgetBytes !== undefined && meta.graphBytes > budgetBytes) {
    return reject('budget', `its graph (${meta.graphBytes} bytes) is over the ${budgetBytes} byte budget`);
  }
  return { usable: true, meta };
}

function parseMeta(raw: unknown): SnapshotMeta | undefined {
  if (raw === null || typeof raw !== 'object') return undefined;
  const meta = raw as SnapshotMeta;
  const numbers = [meta.writtenAtMs, meta.lastLikeId, meta.lastChangeSeq, meta.memoryFloorId, meta.graphBytes, meta.likes];
  const like = meta.like as LikeFingerprint | undefined;
  if (!like || typeof like !== 'object') return undefined;
  numbers.push(like.actorId, like.postId, like.timeUs);
  if (!numbers.every((n) => typeof n === 'number' && Number.isFinite(n))) return undefined;
  if (meta.budgetBytes !== null && typeof meta.budgetBytes !== 'number') return undefined;
  const change = meta.change as ChangeFingerprint | null | undefined;
  if (change !== null && !(typeof change === 'object' && typeof change?.kind === 'number' && typeof change.refId === 'number')) return undefined;
  return meta;
}
