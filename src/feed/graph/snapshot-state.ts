/**
 * A snapshot's tree (graph-snapshot.ts reads numbers and typed arrays back, untyped)
 * turned into the LikeGraphState it was written from, each field checked for its type:
 * a file of the right format version can still be of a tree this code did not write.
 */
import { CompactLists } from './compact-lists.js';
import type { LikeGraphState } from './like-graph.js';

type Fields = Record<string, unknown>;
type ArrayOf<T> = new (length: number) => T;

export function graphStateFromTree(tree: unknown): LikeGraphState {
  const root = object(tree, 'graph');
  const stamps = object(root.stamps, 'stamps');
  const postRows = object(root.postRows, 'postRows');
  return {
    slotChunks: list(root.slotChunks, 'slotChunks').map((item) => {
      const chunk = object(item, 'slot chunk');
      return { index: number(chunk, 'index'), links: array(chunk, 'links', Float64Array) };
    }),
    firstChunk: number(root, 'firstChunk'),
    youngFrom: number(root, 'youngFrom'),
    floor: number(root, 'floor'),
    maxId: number(root, 'maxId'),
    liveLikes: number(root, 'liveLikes'),
    prunedFrozen: number(root, 'prunedFrozen'),
    stamps: {
      through: number(stamps, 'through'),
      floor: number(stamps, 'floor'),
      chunks: list(stamps.chunks, 'stamp chunks').map((item) => {
        const chunk = object(item, 'stamp chunk');
        return { index: number(chunk, 'index'), stamps: array(chunk, 'stamps', Uint16Array), base: array(chunk, 'base', Uint32Array), scale: array(chunk, 'scale', Uint32Array) };
      }),
    },
    byActor: lists(root.byActor),
    byPost: lists(root.byPost),
    actorHead: array(root, 'actorHead', Float64Array),
    actorLikes: array(root, 'actorLikes', Int32Array),
    actorInactive: array(root, 'actorInactive', Uint8Array),
    postRows: { places: array(postRows, 'places', Int32Array), keys: array(postRows, 'keys', Float64Array), count: number(postRows, 'count') },
    postHead: array(root, 'postHead', Float64Array),
    postLikes: array(root, 'postLikes', Int32Array),
    postAuthor: array(root, 'postAuthor', Int32Array),
    postFlags: array(root, 'postFlags', Uint8Array),
    freeRows: array(root, 'freeRows', Int32Array),
    freeRowCount: number(root, 'freeRowCount'),
    rowsUsed: number(root, 'rowsUsed'),
  };
}

function lists(value: unknown): CompactLists | undefined {
  if (value === undefined) return undefined;
  const fields = object(value, 'compacted lists');
  return new CompactLists(
    number(fields, 'throughId'),
    number(fields, 'idBase'),
    array(fields, 'start', Int32Array),
    array(fields, 'other', Int32Array),
    array(fields, 'idOffset', Uint32Array),
  );
}

function object(value: unknown, what: string): Fields {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) throw new Error(`snapshot state: ${what} is not an object`);
  return value as Fields;
}

function list(value: unknown, what: string): unknown[] {
  if (!Array.isArray(value)) throw new Error(`snapshot state: ${what} is not a list`);
  return value;
}

function number(fields: Fields, key: string): number {
  const value = fields[key];
  if (typeof value !== 'number' || !Number.isFinite(value)) throw new Error(`snapshot state: ${key} is not a number`);
  return value;
}

function array<T>(fields: Fields, key: string, type: ArrayOf<T>): T {
  const value = fields[key];
  if (!(value instanceof type)) throw new Error(`snapshot state: ${key} is not a ${type.name}`);
  return value;
}
