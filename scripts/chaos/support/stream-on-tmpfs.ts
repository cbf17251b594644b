import path from 'node:path';
import { writeDatasetFile } from '../../../testkit/dataset/file.js';
import type { ChaosContext, ChaosRow } from '../outcome.js';
import { expectedLikes } from './expected-likes.js';
import { mountTmpfs, type TmpfsVolume } from './tmpfs-volume.js';

/** A generated stream on disk, the likes it must leave, and a small tmpfs for the data volume. */
export interface StreamAndVolume {
  volume: TmpfsVolume;
  streamFile: string;
  lines: number;
  expected: string[];
}

/** Writes the stream, mounts the volume, runs `body`, and unmounts whatever happens. */
export async function withStreamOnTmpfs(
  ctx: ChaosContext,
  stream: { seed: number; likes: number },
  volumeMb: number,
  body: (parts: StreamAndVolume) => Promise<ChaosRow[]>,
): Promise<ChaosRow[]> {
  const dir = ctx.tempDir();
  const streamFile = path.join(dir, 'stream.jsonl');
  await writeDatasetFile(streamFile, { ...stream, malformedShare: 0 });
  const { likes: expected, lines } = expectedLikes(streamFile);
  ctx.log(`${lines} lines, ${expected.length} live likes expected; mounting a ${volumeMb} MB tmpfs`);
  const volume = mountTmpfs(path.join(dir, 'volume'), volumeMb);
  try {
    return await body({ volume, streamFile, lines, expected });
  } finally {
    volume.unmount();
  }
}
