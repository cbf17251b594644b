/**
 * The writer thread: the only connection that writes the database. Ingest batches,
 * the heartbeat and retention pruning all run here, one transaction at a time, so
 * a long commit never blocks the HTTP event loop.
 */
import { getHeapStatistics } from 'node:v8';
import { parentPort, workerData } from 'node:worker_threads';
import { openWriter } from '../../store/database.js';
import { EventWriter } from './event-writer.js';
import { Pruner } from '../../store/pruner.js';
import type { WriterMessage, WriterRequest, WriterThreadInit } from './writer-protocol.js';
import { META, type PrimaryFeedState, type PrimarySignalKey } from '../../store/meta.js';

const HEARTBEAT_INTERVAL_MS = 1000;
const MEMORY_REPORT_INTERVAL_MS = 10_000;
const DAY_US = 86_400_000_000;

if (!parentPort) throw new Error('writer-worker must run as a worker thread');
const port = parentPort;
const init = workerData as WriterThreadInit;
const db = openWriter(init.dbPath, init.db);
const writer = new EventWriter(db, { interactionsPerUser: init.retention.interactionsPerUser });
const pruner = new Pruner(db, writer);
const send = (message: WriterMessage) => port.postMessage(message);

/** Everything that writes goes through this chain: one transaction at a time, with a pause after each. */
let chain: Promise<void> = Promise.resolve();
let closed = false;
function serialize(task: () => void, onClosed?: () => void): Promise<void> {
  chain = chain.then(async () => {
    if (closed) return onClosed?.();
    task();
    // Leave the write lock free for a moment so checkpoints (Litestream's) can take it.
    if (init.writerPauseMs > 0) await new Promise((resolve) => setTimeout(resolve, init.writerPauseMs));
  });
  return chain;
}

/** Runs a request in turn and always answers it: its result, or `failed` with the cause. */
function answer(id: number, task: () => WriterMessage): void {
  void serialize(
    () => {
      try {
        send(task());
      } catch (err) {
        const cause = (err as { cause?: { code?: string; message?: string } }).cause;
        send({ type: 'failed', id, message: cause?.message ?? String(err), code: cause?.code });
      }
    },
    // A request that arrives after close must not wait forever for its answer.
    () => send({ type: 'failed', id, message: 'the writer is closed', code: undefined }),
  );
}

port.on('message', (request: WriterRequest) => {
  switch (request.type) {
    case 'write':
      answer(request.id, () => ({
        type: 'written',
        id: request.id,
        counts: writer.writeBatch(request.events, request.cursor),
        liveLikes: writer.liveLikeCount(),
      }));
      break;
    case 'interactions':
      answer(request.id, () => ({
        type: 'interactions-stored',
        id: request.id,
        stored: writer.writeInteractions(request.actorDid, request.interactions, request.timeUs),
      }));
      break;
    case 'signal':
      answer(request.id, () => {
        writer.writeSignal(request.key, request.value);
        return { type: 'signal-stored', id: request.id };
      });
      break;
    case 'close':
      void chain.then(() => {
        closed = true;
        writeSignalSafely(META.primaryFeed, 'stopped' satisfies PrimaryFeedState);
        clearInterval(heartbeatTimer);
        clearInterval(memoryTimer);
        clearTimeout(pruneTimer);
        db.close();
        send({ type: 'closed', id: request.id });
      });
      break;
  }
});

// Replicas hand reads to this primary only once its feed says `serving` (the main thread
// says so when the like graph has loaded); a failed write here must not stop the writer.
function writeSignalSafely(key: PrimarySignalKey, value: string | undefined): void {
  try {
    writer.writeSignal(key, value);
  } catch (err) {
    send({ type: 'housekeeping-error', task: 'primary-signal', message: `${key}=${value}: ${String(err)}` });
  }
}
writeSignalSafely(META.primaryFeed, 'loading' satisfies PrimaryFeedState);
// A pause of the last run ended with it; the main thread says so if this one pauses.
writeSignalSafely(META.ingestPaused, undefined);

// The heartbeat row: replicas measure their lag from it.
const beat = () =>
  serialize(() => {
    try {
      writer.writeHeartbeat(Date.now());
    } catch (err) {
      send({ type: 'housekeeping-error', task: 'heartbeat', message: String(err) });
    }
  });
const heartbeatTimer = setInterval(beat, HEARTBEAT_INTERVAL_MS);
void beat();

// This thread's V8 heap, which the main thread's process metrics do not see.
const reportMemory = () => {
  const heap = getHeapStatistics();
  send({ type: 'memory', heapUsedBytes: heap.used_heap_size, heapTotalBytes: heap.total_heap_size });
};
const memoryTimer = setInterval(reportMemory, MEMORY_REPORT_INTERVAL_MS);

// Retention: small steps; a backlog (a long-stopped primary) drains a step at a time.
let pruneTimer: NodeJS.Timeout | undefined;
function schedulePrune(delayMs: number): void {
  pruneTimer = setTimeout(() => {
    let more = false;
    void serialize(() => {
      try {
        const cutoffUs = Date.now() * 1000 - init.retention.days * DAY_US;
        const result = pruner.pruneStep(cutoffUs, init.retention.pruneBatchRows);
        more = result.more;
        send({ type: 'pruned', result, liveLikes: writer.liveLikeCount() });
      } catch (err) {
        send({ type: 'housekeeping-error', task: 'prune', message: String(err) });
      }
    }).then(() => {
      if (!closed) schedulePrune(more ? Math.ceil(init.retention.pruneIntervalMs / 10) : init.retention.pruneIntervalMs);
    });
  }, delayMs);
}
schedulePrune(init.retention.pruneIntervalMs);

send({ type: 'ready', cursor: writer.cursor(), liveLikes: writer.liveLikeCount() });
reportMemory();
