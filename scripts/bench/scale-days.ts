/**
 * A generated stream cut into simulated days for bench:scale to replay a day at a time:
 * each day in two JSONL files, the bulk (replayed at full speed) and its last
 * `liveEvents` lines (replayed at the real stream's rate, for what a live batch costs).
 * Lines stay in the stream's order: a day ends at the first line whose time_us reaches
 * the next day, and never takes a line back, so a service that reconnects to the next
 * file with its cursor misses nothing. The posts of the stream's prelude (before its
 * first day) go with the first day; a line without a time (the malformed share) goes with
 * the day it stands in.
 */
import { createReadStream, createWriteStream, type WriteStream } from 'node:fs';
import { once } from 'node:events';
import path from 'node:path';
import { createInterface } from 'node:readline';

const US_PER_DAY = 86_400_000_000;
const TIME_US = /"time_us":(\d+)/;

export interface DayFiles {
  bulk: string;
  live: string;
  lines: number;
  liveLines: number;
  /** Like creates in the day. */
  likeCreates: number;
}

export async function splitIntoDays(dataset: string, days: number, endTimeUs: number, outDir: string, liveEvents: number): Promise<DayFiles[]> {
  const firstDayUs = endTimeUs - days * US_PER_DAY;
  const result: DayFiles[] = [];
  let day = -1;
  let bulk: WriteStream | undefined;
  /** The day's newest lines, held back from the bulk file until the day is known to go on past them (a ring). */
  let tail: string[] = [];
  let tailStart = 0;
  const tailInOrder = () => [...tail.slice(tailStart), ...tail.slice(0, tailStart)];

  const write = async (out: WriteStream, line: string) => {
    if (!out.write(`${line}\n`)) await once(out, 'drain');
  };
  const endDay = async () => {
    if (!bulk) return;
    bulk.end();
    await once(bulk, 'close');
    const current = result[result.length - 1]!;
    const live = createWriteStream(current.live);
    for (const line of tailInOrder()) await write(live, line);
    live.end();
    await once(live, 'close');
    current.liveLines = tail.length;
    tail = [];
    tailStart = 0;
  };
  const startDay = async (next: number) => {
    await endDay();
    day = next;
    const name = path.join(outDir, `day-${day + 1}`);
    result.push({ bulk: `${name}-bulk.jsonl`, live: `${name}-live.jsonl`, lines: 0, liveLines: 0, likeCreates: 0 });
    bulk = createWriteStream(`${name}-bulk.jsonl`);
  };

  await startDay(0);
  for await (const line of createInterface({ input: createReadStream(dataset), crlfDelay: Infinity })) {
    const timeUs = Number(TIME_US.exec(line)?.[1] ?? Number.NaN);
    const dayOfLine = Number.isNaN(timeUs) ? day : Math.min(days - 1, Math.floor((timeUs - firstDayUs) / US_PER_DAY));
    while (dayOfLine > day) await startDay(day + 1);
    const current = result[result.length - 1]!;
    current.lines++;
    if (line.includes('"app.bsky.feed.like"') && line.includes('"operation":"create"')) current.likeCreates++;
    if (tail.length < liveEvents) tail.push(line);
    else {
      // The oldest held line goes to the bulk file; this one takes its place.
      await write(bulk!, tail[tailStart]!);
      tail[tailStart] = line;
      tailStart = (tailStart + 1) % liveEvents;
    }
  }
  while (day < days - 1) await startDay(day + 1);
  await endDay();
  return result;
}
