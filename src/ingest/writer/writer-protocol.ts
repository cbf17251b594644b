import type { Config } from '../../config/config.js';
import type { IngestEvent } from '../events.js';
import type { Interaction, OutcomeCounts } from './event-writer.js';
import type { PrimarySignalKey, StoredCursor } from '../../store/meta.js';
import type { PruneResult } from '../../store/pruner.js';

/** What the writer thread is started with. */
export interface WriterThreadInit {
  dbPath: string;
  db: Config['db'];
  retention: Config['retention'];
  writerPauseMs: number;
}

/** Main thread → writer thread. */
export type WriterRequest =
  | { type: 'write'; id: number; events: IngestEvent[]; cursor: StoredCursor }
  | { type: 'interactions'; id: number; actorDid: string; interactions: Interaction[]; timeUs: number }
  | { type: 'signal'; id: number; key: PrimarySignalKey; value: string | undefined }
  | { type: 'close'; id: number };

/** Writer thread → main thread. */
export type WriterMessage =
  | { type: 'ready'; cursor: StoredCursor; liveLikes: number }
  | { type: 'written'; id: number; counts: OutcomeCounts; liveLikes: number }
  | { type: 'interactions-stored'; id: number; stored: number }
  | { type: 'failed'; id: number; message: string; code: string | undefined }
  | { type: 'signal-stored'; id: number }
  | { type: 'closed'; id: number }
  | { type: 'pruned'; result: PruneResult; liveLikes: number }
  | { type: 'housekeeping-error'; task: 'heartbeat' | 'primary-signal' | 'prune'; message: string }
  | { type: 'memory'; heapUsedBytes: number; heapTotalBytes: number };
