import { createWriteStream } from 'node:fs';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { type DatasetOptions, type DatasetStats, generateDatasetChunks } from './generator.js';

export interface DatasetFileOptions {
  /** Filled as the lines are written. */
  stats?: DatasetStats;
  /** Called after each chunk (about 1 MiB) is handed to the file: for progress. */
  afterChunk?: () => void;
}

/**
 * Writes a generated like stream to `file` as JSONL, streamed (a full-size dataset does
 * not fit in a string), and returns the bytes written.
 */
export async function writeDatasetFile(file: string, options: DatasetOptions, fileOptions: DatasetFileOptions = {}): Promise<number> {
  const out = createWriteStream(file);
  const afterChunk = fileOptions.afterChunk ?? (() => {});
  // pipeline pulls a chunk only when the file stream asks for more: that is the backpressure.
  await pipeline(Readable.from(reporting(generateDatasetChunks(options, fileOptions.stats), afterChunk)), out);
  return out.bytesWritten;
}

function* reporting(chunks: Iterable<Buffer>, afterChunk: () => void): Generator<Buffer> {
  for (const chunk of chunks) {
    yield chunk;
    afterChunk();
  }
}
