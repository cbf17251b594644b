import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { WebSocket } from 'ws';
import { type JetstreamReplayOptions, type JetstreamReplayServer, startJetstreamReplay } from '../testkit/standins/jetstream-server.js';

const CAPTURE = fileURLToPath(new URL('../testkit/fixtures/jetstream/capture-2026-07-04.jsonl', import.meta.url));
const captureLines = existsSync(CAPTURE) ? readFileSync(CAPTURE, 'utf8').split('\n').filter((l) => l !== '') : [];

interface CaptureEvent {
  kind: string;
  time_us: number;
  commit?: { collection: string };
  cursor?: number;
}
const parse = (line: string): CaptureEvent => JSON.parse(line) as CaptureEvent;

const servers: JetstreamReplayServer[] = [];
const clients: WebSocket[] = [];

afterEach(async () => {
  for (const ws of clients.splice(0)) ws.terminate();
  await Promise.all(servers.splice(0).map((s) => s.close()));
});

async function start(opts: JetstreamReplayOptions): Promise<JetstreamReplayServer> {
  const server = await startJetstreamReplay(opts);
  servers.push(server);
  return server;
}

function connect(url: string): WebSocket {
  const ws = new WebSocket(url);
  clients.push(ws);
  return ws;
}

/** Every frame a subscription receives until the server closes it (use with atEnd: 'close'). */
function receiveAll(url: string): Promise<{ frames: string[]; code: number }> {
  const ws = connect(url);
  const frames: string[] = [];
  return new Promise((resolve, reject) => {
    ws.on('message', (data, isBinary) => {
      expect(isBinary).toBe(false);
      frames.push(String(data));
    });
    ws.on('error', reject);
    ws.on('close', (code) => resolve({ frames, code }));
  });
}

const query = (params: Array<[string, string]>): string => `?${new URLSearchParams(params).toString()}`;

describe('jetstream replay stand-in', () => {
  it('has its fixture', () => {
    expect(existsSync(CAPTURE), CAPTURE).toBe(true);
    expect(captureLines).toHaveLength(152);
  });

  it('sends appended lines to a connection idling at the end, and to later connections after the first lines', async () => {
    const [first, second, third] = captureLines as [string, string, string];
    const server = await start({ lines: [first] });
    const ws = connect(`${server.url}/subscribe`);
    const frames: string[] = [];
    ws.on('message', (data) => frames.push(String(data)));
    await vi.waitFor(() => expect(frames).toEqual([first]));
    server.append([second, third]);
    await vi.waitFor(() => expect(frames).toEqual([first, second, third]));
    const later = await start({ lines: [first], atEnd: 'close' });
    later.append([second]);
    expect((await receiveAll(`${later.url}/subscribe`)).frames).toEqual([first, second]);
  });

  it('sends every line byte-for-byte, with independent playback per connection', async () => {
    const server = await start({ file: CAPTURE, atEnd: 'close' });
    const [a, b] = await Promise.all([receiveAll(`${server.url}/subscribe`), receiveAll(`${server.url}/subscribe`)]);
    expect(a.frames).toEqual(captureLines);
    expect(b.frames).toEqual(captureLines);
    expect(a.code).toBe(1000);
    expect(server.stats()).toEqual({
      connections: 2,
      framesSent: 304,
      requests: [{ wantedCollections: [] }, { wantedCollections: [] }],
    });
  });

  it('filters commits by wantedCollections and always sends identity and account events', async () => {
    const server = await start({ file: CAPTURE, atEnd: 'close' });
    const wanted = ['app.bsky.feed.like', 'app.bsky.feed.post', 'app.bsky.feed.repost'];
    const { frames } = await receiveAll(`${server.url}/subscribe${query(wanted.map((c) => ['wantedCollections', c]))}`);

    const expected = captureLines.filter((l) => {
      const e = parse(l);
      return e.kind !== 'commit' || wanted.includes(e.commit?.collection ?? '');
    });
    expect(frames).toEqual(expected);
    expect(frames.length).toBeLessThan(captureLines.length);
    expect(new Set(frames.map((f) => parse(f).kind))).toEqual(new Set(['commit', 'identity', 'account']));
    expect(server.stats().requests).toEqual([{ wantedCollections: wanted }]);
  });

  it('matches wantedCollections prefixes ending in .*', async () => {
    const server = await start({ file: CAPTURE, atEnd: 'close' });
    const { frames } = await receiveAll(`${server.url}/subscribe?wantedCollections=app.bsky.graph.*`);
    const commits = frames.map(parse).filter((e) => e.kind === 'commit');
    expect(commits.length).toBeGreaterThan(0);
    expect(commits.every((e) => e.commit?.collection.startsWith('app.bsky.graph.'))).toBe(true);
    expect(frames.length).toBe(commits.length + 2); // plus the capture's one identity and one account event
  });

  it('replays from a time_us cursor: every event at or after it, in file order, though time_us is not monotonic', async () => {
    const times = captureLines.map((l) => parse(l).time_us);
    const cursor = [...times].sort((x, y) => x - y)[Math.floor(times.length / 2)] as number;
    const server = await start({ file: CAPTURE, atEnd: 'close' });
    const { frames } = await receiveAll(`${server.url}/subscribe?cursor=${cursor}`);

    expect(frames).toEqual(captureLines.filter((l) => parse(l).time_us >= cursor));
    expect(frames.length).toBeGreaterThan(0);
    // The first event below the cursor sits before later qualifying ones: playback did not stop or seek.
    const firstSkipped = times.findIndex((t) => t < cursor);
    expect(times.slice(firstSkipped).some((t) => t >= cursor)).toBe(true);
    expect(server.stats().requests).toEqual([{ wantedCollections: [], cursor: String(cursor) }]);
  });

  it('adds a per-line cursor in sequence mode and resumes from a sequence cursor', async () => {
    const server = await start({ file: CAPTURE, withSequence: true, atEnd: 'close' });
    const all = await receiveAll(`${server.url}/subscribe`);
    expect(all.frames.map((f) => parse(f).cursor)).toEqual(captureLines.map((_, i) => i + 1));
    expect(all.frames.map((f) => ({ ...parse(f), cursor: undefined }))).toEqual(captureLines.map((l) => ({ ...parse(l), cursor: undefined })));

    const resumed = await receiveAll(`${server.url}/subscribe?cursor=100`);
    expect(resumed.frames.map((f) => parse(f).cursor)).toEqual(captureLines.slice(99).map((_, i) => i + 100));
  });

  it('sends malformed lines raw and unfiltered, skips them for a time cursor, numbers them in sequence mode', async () => {
    const t = 1_783_000_000_000_000;
    const lines = [
      JSON.stringify({ did: 'did:plc:a', time_us: t, kind: 'commit', commit: { collection: 'app.bsky.graph.follow' } }),
      '{"did":"did:plc:b","time_us":17830000',
      JSON.stringify({ did: 'did:plc:c', time_us: t + 1, kind: 'commit', commit: { collection: 'app.bsky.feed.like' } }),
      'not json',
    ];
    const plain = await start({ lines, atEnd: 'close' });
    const filtered = await receiveAll(`${plain.url}/subscribe?wantedCollections=app.bsky.feed.like`);
    expect(filtered.frames).toEqual([lines[1], lines[2], lines[3]]);
    const byTime = await receiveAll(`${plain.url}/subscribe?cursor=${t}`);
    expect(byTime.frames).toEqual([lines[0], lines[2]]);

    const sequenced = await start({ lines, withSequence: true, atEnd: 'close' });
    const bySeq = await receiveAll(`${sequenced.url}/subscribe?cursor=2`);
    expect(bySeq.frames[0]).toBe(lines[1]);
    expect(parse(bySeq.frames[1] as string).cursor).toBe(3);
    expect(bySeq.frames[2]).toBe(lines[3]);
  });

  it('paces playback to ratePerSec', async () => {
    const lines = Array.from({ length: 100 }, (_, i) => JSON.stringify({ kind: 'identity', time_us: 1e15 + i }));
    const server = await start({ lines, ratePerSec: 1000, atEnd: 'close' });
    const started = performance.now();
    const { frames } = await receiveAll(`${server.url}/subscribe`);
    const elapsed = performance.now() - started;
    expect(frames).toEqual(lines);
    expect(elapsed).toBeGreaterThanOrEqual(80);
    expect(elapsed).toBeLessThan(5000);
  });

  it('answers 404 on paths other than /subscribe and 400 on a bad cursor', async () => {
    const server = await start({ file: CAPTURE });
    const status = (path: string) =>
      new Promise<number | undefined>((resolve, reject) => {
        const ws = connect(`${server.url}${path}`);
        ws.on('unexpected-response', (_req, res) => resolve(res.statusCode));
        ws.on('open', () => reject(new Error(`${path} was accepted`)));
        ws.on('error', reject);
      });
    expect(await status('/firehose')).toBe(404);
    expect(await status('/subscribe?cursor=yesterday')).toBe(400);
    expect(server.stats().connections).toBe(0);
  });

  it('dropConnections destroys client sockets without a close frame', async () => {
    const server = await start({ file: CAPTURE }); // atEnd 'idle': the connection stays open
    const ws = connect(`${server.url}/subscribe`);
    let received = 0;
    ws.on('message', () => {
      received++;
      if (received === captureLines.length) server.dropConnections();
    });
    const code = await new Promise<number>((resolve) => ws.on('close', resolve));
    expect(code).toBe(1006); // abnormal closure: no close frame arrived
    expect(received).toBe(captureLines.length);
  });

  it('bounds its buffering when the client stops reading', async () => {
    const pad = 'x'.repeat(200);
    const lines = Array.from({ length: 200_000 }, (_, i) => `{"kind":"identity","i":${i},"pad":"${pad}"}`);
    const server = await start({ lines, atEnd: 'close' });
    const ws = connect(`${server.url}/subscribe`);
    let received = 0;
    let lastIndex = -1;
    ws.on('message', (data) => {
      received++;
      lastIndex = (JSON.parse(String(data)) as { i: number }).i;
    });
    await new Promise((resolve) => ws.once('open', resolve));
    ws.pause();

    // While paused, sending stalls once the socket buffers and the ~4 MB high-water mark are full.
    let stalledAt = -1;
    for (let polls = 0; polls < 100; polls++) {
      const before = server.stats().framesSent;
      await new Promise((resolve) => setTimeout(resolve, 100));
      if (server.stats().framesSent === before) {
        stalledAt = before;
        break;
      }
    }
    expect(stalledAt).toBeGreaterThan(0);
    expect(stalledAt).toBeLessThan(lines.length / 2);

    ws.resume();
    await new Promise((resolve) => ws.once('close', resolve));
    expect(received).toBe(lines.length);
    expect(lastIndex).toBe(lines.length - 1);
  });
});
