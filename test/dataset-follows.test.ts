import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { type DatasetOptions, generateDatasetChunks } from '../testkit/dataset/generator.js';
import { buildFollows } from '../testkit/dataset/model/follows.js';
import { belongsTo } from '../testkit/dataset/model/population.js';

const OPTIONS: DatasetOptions = { seed: 42, likes: 100_000, communities: 20, endTimeUs: 1_750_000_000_000_000 };

function streamHash(options: DatasetOptions): string {
  const hash = createHash('sha256');
  for (const chunk of generateDatasetChunks(options)) hash.update(chunk);
  return hash.digest('hex');
}

describe('dataset follows', () => {
  const follows = buildFollows(OPTIONS);
  const rows = Array.from({ length: follows.users }, (_, user) => follows.followsOf(user));

  it('are a function of the options', () => {
    const again = buildFollows(OPTIONS);
    for (let user = 0; user < follows.users; user++) expect(again.followsOf(user)).toEqual(rows[user]);
    expect(buildFollows({ ...OPTIONS, seed: 43 }).followsOf(0)).not.toEqual(rows[0]);
  });

  it('are heavy-tailed in number, without repeats or self-follows', () => {
    const counts = rows.map((row) => row.length).sort((a, b) => a - b);
    expect(counts[0]).toBeGreaterThanOrEqual(5);
    expect(counts.at(-1)).toBeLessThanOrEqual(500);
    expect(counts[Math.floor(counts.length / 2)]).toBeGreaterThanOrEqual(10);
    expect(counts[Math.floor(counts.length / 2)]).toBeLessThanOrEqual(20);
    expect(counts[Math.floor(counts.length * 0.95)]).toBeGreaterThan(100);
    rows.forEach((row, user) => {
      expect(new Set(row).size).toBe(row.length);
      expect(row).not.toContain(user);
    });
  });

  it('go mostly to accounts of the follower’s own communities', () => {
    const { population } = follows;
    const ownCommunity = (user: number, account: number) =>
      [population.primaryCommunity[user]!, population.secondCommunity[user]!].some((c) => c >= 0 && belongsTo(population, account, c));
    let inCommunity = 0;
    let total = 0;
    rows.forEach((row, user) => {
      // Who follows hundreds runs out of authors in a community of ~100 users and finds the rest elsewhere.
      if (row.length > 100) return;
      total += row.length;
      inCommunity += row.filter((account) => ownCommunity(user, account)).length;
    });
    // 75 % are drawn in the communities (a few less survive the repeats), and some network-wide and random draws land there too.
    expect(inCommunity / total).toBeGreaterThan(0.7);
    expect(inCommunity / total).toBeLessThan(0.85);
  });

  it('name users by the DIDs the stream writes, and leave the stream as it was', () => {
    const dids = new Set(Array.from({ length: follows.users }, (_, user) => follows.didOf(user)));
    const text = new TextDecoder().decode(generateDatasetChunks(OPTIONS).next().value as Buffer);
    const written = [...text.matchAll(/"did":"(did:plc:[a-z2-7]{24})"/g)].map((m) => m[1]!);
    expect(written.length).toBeGreaterThan(1000);
    expect(written.filter((did) => !dids.has(did))).toEqual([]);

    const small = { ...OPTIONS, likes: 20_000 };
    const before = streamHash(small);
    buildFollows(small);
    expect(streamHash(small)).toBe(before);
  });
});
