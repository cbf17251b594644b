import { Worker } from 'node:worker_threads';
import type { IngestEvent } from '../events.js';
import type { Interaction, OutcomeCounts } from './event-writer.js';
import { META, type PrimaryFeedState, type PrimarySignalKey, type StoredCursor } from '../../store/meta.js';
import type { IngestPauseReason } from '../ingester.js';
import type { WriterMessage, WriterRequest, WriterThreadInit } from './writer-protocol.js';

export class WriteFailedError extends Error {
  constructor(
    message: string,
    readonly code: string | undefined,
  ) {
    super(`write batch: ${message}`);
    this.name = 'WriteFailedError';
  }
}

export interface WriterThreadEvents {
  onPruned(message: Extract<WriterMessage, { type: 'pruned' }>): void;
  onHousekeepingError(message: Extract<WriterMessage, { type: 'housekeeping-error' }>): void;
  onMemory?(message: Extract<WriterMessage, { type: 'memory' }>): void;
  /** The thread died: the process can no longer write and should restart. */
  onCrash(err: Error): void;
}

/**
 * The main thread's handle on the writer thread (writer-worker.ts): requests go
 * over postMessage and come back as promises.
 */
export class WriterThread {
  private nextId = 1;
  private readonly pending = new Map<number, { resolve: (message: WriterMessage) => void; reject: (err: Error) => void }>();
  private liveLikes = 0;

  private constructor(
    private readonly worker: Worker,
    readonly initialCursor: StoredCursor,
    liveLikes: number,
  ) {
    this.liveLikes = liveLikes;
  }

  static async start(init: WriterThreadInit, events: WriterThreadEvents): Promise<WriterThread> {
    const worker = createWorker(init);
    const ready = await new Promise<Extract<WriterMessage, { type: 'ready' }>>((resolve, reject) => {
      worker.once('error', (err) => reject(new Error('start writer thread', { cause: err })));
      worker.once('message', (message: WriterMessage) => {
        if (message.type === 'ready') resolve(message);
        else reject(new Error(`writer thread sent ${message.type} before ready`));
      });
    });
    const thread = new WriterThread(worker, ready.cursor, ready.liveLikes);
    worker.on('message', (message: WriterMessage) => thread.onMessage(message, events));
    worker.on('error', (err) => {
      thread.failAll(err);
      events.onCrash(err);
    });
    return thread;
  }

  liveLikeCount(): number {
    return this.liveLikes;
  }

  async writeBatch(events: IngestEvent[], cursor: StoredCursor): Promise<OutcomeCounts> {
    const reply = await this.request({ type: 'write', id: this.nextId++, events, cursor });
    if (reply.type === 'failed') throw new WriteFailedError(reply.message, reply.code);
    if (reply.type !== 'written') throw new Error(`writer thread answered ${reply.type} to a write`);
    return reply.counts;
  }

  async writeInteractions(actorDid: string, interactions: Interaction[]): Promise<number> {
    const reply = await this.request({ type: 'interactions', id: this.nextId++, actorDid, interactions, timeUs: Date.now() * 1000 });
    if (reply.type === 'failed') throw new WriteFailedError(reply.message, reply.code);
    if (reply.type !== 'interactions-stored') throw new Error(`writer thread answered ${reply.type} to interactions`);
    return reply.stored;
  }

  /** Tells replicas, through the database, whether this primary can serve feeds. */
  writePrimaryFeed(state: PrimaryFeedState): Promise<void> {
    return this.writeSignal(META.primaryFeed, state);
  }

  /** Tells replicas, through the database, why this primary's ingest is paused (undefined: it is not). */
  writeIngestPaused(reason: IngestPauseReason | undefined): Promise<void> {
    return this.writeSignal(META.ingestPaused, reason);
  }

  private async writeSignal(key: PrimarySignalKey, value: string | undefined): Promise<void> {
    const reply = await this.request({ type: 'signal', id: this.nextId++, key, value });
    if (reply.type === 'failed') throw new WriteFailedError(reply.message, reply.code);
  }

  /** Waits for queued writes, marks the feed stopped, closes the database, and ends the thread. */
  async stop(): Promise<void> {
    await this.request({ type: 'close', id: this.nextId++ });
    await this.worker.terminate();
  }

  private request(message: WriterRequest): Promise<WriterMessage> {
    return new Promise((resolve, reject) => {
      this.pending.set(message.id, { resolve, reject });
      this.worker.postMessage(message);
    });
  }

  private onMessage(message: WriterMessage, events: WriterThreadEvents): void {
    switch (message.type) {
      case 'written':
      case 'pruned':
        this.liveLikes = message.liveLikes;
        break;
    }
    if (message.type === 'pruned') return events.onPruned(message);
    if (message.type === 'housekeeping-error') return events.onHousekeepingError(message);
    if (message.type === 'memory') return events.onMemory?.(message);
    if (message.type === 'ready') return;
    const waiter = this.pending.get(message.id);
    this.pending.delete(message.id);
    waiter?.resolve(message);
  }

  private failAll(err: Error): void {
    for (const waiter of this.pending.values()) waiter.reject(new Error('writer thread crashed', { cause: err }));
    this.pending.clear();
  }
}

/**
 * In the image the entry is compiled JavaScript. Under tsx (development, tests) it is
 * TypeScript, and a worker does not inherit the loader: register it first.
 */
function createWorker(init: WriterThreadInit): Worker {
  // A larger young generation means fewer scavenges of the per-batch garbage (bench:ingest:
  // 9.2 → 8.7 CPU-seconds per million events).
  const resourceLimits = { maxYoungGenerationSizeMb: 32 };
  if (!import.meta.url.endsWith('.ts')) {
    return new Worker(new URL('./writer-worker.js', import.meta.url), { workerData: init, resourceLimits });
  }
  const entry = new URL('./writer-worker.ts', import.meta.url).href;
  const tsxApi = new URL('../../../node_modules/tsx/dist/esm/api/index.mjs', import.meta.url).href;
  const bootstrap = `import(${JSON.stringify(tsxApi)}).then((tsx) => { tsx.register(); return import(${JSON.stringify(entry)}); });`;
  return new Worker(bootstrap, { eval: true, workerData: init, resourceLimits });
}
