import { createWriteStream } from 'node:fs';
import { once } from 'node:events';
import path from 'node:path';
import { type DatasetOptions, generateDatasetChunks } from '../../../testkit/dataset/generator.js';

/** Writes a generated like stream to `dir` as JSONL (streamed: a full-size dataset does not fit in a string). */
export async function writeDataset(dir: string, name: string, options: DatasetOptions): Promise<string> {
  const file = path.join(dir, `${name}.jsonl`);
  const out = createWriteStream(file);
  for (const chunk of generateDatasetChunks(options)) {
    if (!out.write(chunk)) await once(out, 'drain');
  }
  out.end();
  await once(out, 'finish');
  return file;
}
