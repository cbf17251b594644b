/**
 * A local stand-in for Bluesky's Jetstream firehose: replays a JSONL capture over
 * the real `/subscribe` WebSocket protocol (wantedCollections, cursor) so tests,
 * benchmarks and the demo can run without the network.
 */
import { createReadStream } from 'node:fs';
import { access, constants } from 'node:fs/promises';
import { createServer, STATUS_CODES } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Duplex } from 'node:stream';
import { setTimeout as sleep } from 'node:timers/promises';
import { WebSocket, WebSocketServer } from 'ws';

export interface JetstreamReplayOptions {
  /** JSONL file of Jetstream events, one per line (streamed from disk, never loaded whole: files can be 1 GB). */
  file?: string;
  /** Or in-memory lines (for small tests). Exactly one of file/lines. */
  lines?: readonly string[];
  /** Events per second per connection; 0 or undefined = as fast as the client takes them. */
  ratePerSec?: number;
  /** Emit a per-event `cursor` sequence number (1-based line number, malformed lines included), as newer hosts do. */
  withSequence?: boolean;
  /** Default 0 (ephemeral). */
  port?: number;
  /** Default 127.0.0.1. */
  host?: string;
  /** When the input is exhausted: 'idle' keeps the connection open (default), 'close' closes it with code 1000. */
  atEnd?: 'idle' | 'close';
}

/** A fault the host shows from `setFault` until cleared, for chaos tests. */
export type JetstreamFault =
  /** Open and new connections stay open and send nothing: a stalled host, or one that upgrades and never sends. */
  | { kind: 'stall' }
  /** Playback at this many events per second per connection, open connections included. */
  | { kind: 'slow'; ratePerSec: number }
  /** New connections are accepted and their upgrade request never answered. */
  | { kind: 'no-handshake' };

/** One WebSocket connection as the host saw it (times in ms since the epoch). */
export interface ConnectionRecord {
  cursor?: string;
  openedAt: number;
  closedAt?: number;
  framesSent: number;
  firstFrameAt?: number;
  /** 1-based line number of the last frame sent: where playback got to. */
  lastLine?: number;
}

export interface JetstreamReplayServer {
  /** ws://HOST:PORT; clients connect to `${url}/subscribe?...`. */
  url: string;
  port: number;
  stats(): { connections: number; framesSent: number; requests: Array<{ wantedCollections: string[]; cursor?: string }> };
  /** Drop every open connection abruptly (socket destroy, no close frame), for fault tests. */
  dropConnections(): void;
  /** Starts showing `fault` (undefined = healthy again). */
  setFault(fault: JetstreamFault | undefined): void;
  /** Every WebSocket connection so far, in the order of `stats().requests`. */
  connectionLog(): ConnectionRecord[];
  /** Connections accepted under 'no-handshake' so far. */
  heldHandshakes(): number;
  /**
   * More events, as live ones arriving (in-memory `lines` only): connections idling at the
   * end send them, and later connections replay them after the first lines.
   */
  append(lines: readonly string[]): void;
  close(): Promise<void>;
}

/** Pause a connection's playback above this many buffered bytes... */
const HIGH_WATER_BYTES = 4 * 1024 * 1024;
/** ...and resume once the socket has drained below this. */
const LOW_WATER_BYTES = 1024 * 1024;
/** Rate-limited playback sends whatever is due at most this often, rather than one timer per event. */
const TICK_MS = 10;
/** Jetstream's rule: cursors at or above this are time_us, below it sequence numbers. */
const TIME_CURSOR_MIN = 1e15;
const MEMORY_BATCH_LINES = 1000;
const FILE_CHUNK_BYTES = 256 * 1024;

type Cursor = { kind: 'time' | 'seq'; value: number };

interface Subscription {
  wantedCollections: string[];
  rawCursor: string | undefined;
  cursor: Cursor | undefined;
}

/** A full NSID (`app.bsky.feed.like`) or a prefix ending in `.*` (`app.bsky.feed.*`). */
const COLLECTION_PATTERN = /^[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)*(\.[A-Za-z0-9-]+|\.\*)$/;

export async function startJetstreamReplay(opts: JetstreamReplayOptions): Promise<JetstreamReplayServer> {
  if ((opts.file === undefined) === (opts.lines === undefined)) throw new TypeError('jetstream replay: give exactly one of `file` and `lines`');
  const live = opts.lines === undefined ? undefined : new LiveLines(opts.lines);
  const source = live ? live.source(opts.atEnd !== 'close') : await fileSource(opts.file!);
  const ratePerSec = opts.ratePerSec ?? 0;
  if (!Number.isFinite(ratePerSec) || ratePerSec < 0) {
    throw new RangeError(`jetstream replay: ratePerSec must be a finite number >= 0, got ${ratePerSec}`);
  }
  const atEnd = opts.atEnd ?? 'idle';
  if (atEnd !== 'idle' && atEnd !== 'close') throw new RangeError(`jetstream replay: atEnd must be 'idle' or 'close', got ${String(atEnd)}`);
  const withSequence = opts.withSequence ?? false;
  const host = opts.host ?? '127.0.0.1';

  const counters = { connections: 0, framesSent: 0 };
  const requests: Array<{ wantedCollections: string[]; cursor?: string }> = [];
  const log: ConnectionRecord[] = [];
  const faults = new FaultState();
  const held = new Set<Duplex>();
  let heldTotal = 0;

  // Plain HTTP requests get the status a real host would give: this is a WebSocket-only endpoint.
  const server = createServer((req, res) => {
    const onSubscribe = new URL(req.url ?? '/', 'http://replay').pathname === '/subscribe';
    res.writeHead(onSubscribe ? 426 : 404, { 'content-type': 'text/plain' }).end(onSubscribe ? 'WebSocket upgrade required\n' : 'not found\n');
  });
  const wss = new WebSocketServer({ noServer: true });

  server.on('upgrade', (req, socket, head) => {
    socket.on('error', () => socket.destroy());
    if (faults.fault?.kind === 'no-handshake') {
      // Accept the bytes and never answer: the client's handshake timeout is what ends this.
      heldTotal++;
      held.add(socket);
      socket.once('close', () => held.delete(socket));
      return;
    }
    const url = new URL(req.url ?? '/', 'http://replay');
    if (url.pathname !== '/subscribe') return rejectUpgrade(socket, 404, `no route for ${url.pathname}; use /subscribe`);
    let sub: Subscription;
    try {
      sub = parseSubscription(url.searchParams, withSequence);
    } catch (err) {
      return rejectUpgrade(socket, 400, err instanceof Error ? err.message : String(err));
    }
    wss.handleUpgrade(req, socket, head, (ws) => {
      counters.connections++;
      requests.push({ wantedCollections: sub.wantedCollections, cursor: sub.rawCursor });
      const record: ConnectionRecord = { cursor: sub.rawCursor, openedAt: Date.now(), framesSent: 0 };
      log.push(record);
      ws.once('close', () => (record.closedAt = Date.now()));
      // A protocol error from the client must not crash the server; drop that connection only.
      ws.on('error', () => ws.terminate());
      const playback = { source, sub, ratePerSec, withSequence, atEnd, counters, record, faults };
      play(ws, playback).catch((err: unknown) => {
        const message = `jetstream replay: playback failed: ${err instanceof Error ? err.message : String(err)}`;
        console.error(message);
        if (ws.readyState === WebSocket.OPEN) ws.close(1011, truncateUtf8(message, 123));
      });
    });
  });

  await new Promise<void>((resolve, reject) => {
    server.once('error', (err) => reject(new Error(`jetstream replay: cannot listen on ${host}:${opts.port ?? 0}: ${err.message}`)));
    server.listen(opts.port ?? 0, host, () => resolve());
  });
  const { port } = server.address() as AddressInfo;

  const dropConnections = (): void => {
    for (const ws of wss.clients) ws.terminate();
    for (const socket of held) socket.destroy();
  };

  return {
    url: `ws://${host.includes(':') ? `[${host}]` : host}:${port}`,
    port,
    stats: () => ({ ...counters, requests: requests.map((r) => ({ ...r, wantedCollections: [...r.wantedCollections] })) }),
    dropConnections,
    setFault: (fault) => faults.set(fault),
    connectionLog: () => log.map((r) => ({ ...r })),
    heldHandshakes: () => heldTotal,
    append: (lines) => {
      if (!live) throw new TypeError('jetstream replay: append needs in-memory `lines`, not a file');
      live.append(lines);
    },
    close: async () => {
      live?.close();
      faults.set(undefined);
      dropConnections();
      wss.close();
      await new Promise<void>((resolve, reject) => server.close((err) => (err ? reject(err) : resolve())));
    },
  };
}

function parseSubscription(params: URLSearchParams, withSequence: boolean): Subscription {
  const wantedCollections = params.getAll('wantedCollections');
  for (const c of wantedCollections) {
    if (!COLLECTION_PATTERN.test(c)) throw new Error(`invalid wantedCollections entry ${JSON.stringify(c)}: expected an NSID or a prefix ending in .*`);
  }
  const rawCursor = params.get('cursor') ?? undefined;
  if (rawCursor === undefined) return { wantedCollections, rawCursor, cursor: undefined };
  if (!/^\d+$/.test(rawCursor)) throw new Error(`invalid cursor ${JSON.stringify(rawCursor)}: expected a non-negative integer`);
  const value = Number(rawCursor);
  // Hosts without sequence numbers read every cursor as time_us (a small one just means "from the start").
  const kind = withSequence && value < TIME_CURSOR_MIN ? 'seq' : 'time';
  return { wantedCollections, rawCursor, cursor: { kind, value } };
}

function rejectUpgrade(socket: Duplex, status: number, message: string): void {
  const body = `${message}\n`;
  socket.end(
    `HTTP/1.1 ${status} ${STATUS_CODES[status] ?? ''}\r\nConnection: close\r\nContent-Type: text/plain\r\n` +
      `Content-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`,
  );
}

/** A fresh batched line iterator per connection: each connection plays back independently. */
type LineSource = () => AsyncIterable<string[]>;

/** In-memory lines that may grow (append); a playback idling at their end wakes for the new ones. */
class LiveLines {
  private readonly lines: string[];
  private readonly waiting = new Set<() => void>();
  private closed = false;

  constructor(lines: readonly string[]) {
    this.lines = [...lines];
  }

  append(lines: readonly string[]): void {
    this.lines.push(...lines);
    this.wake();
  }

  close(): void {
    this.closed = true;
    this.wake();
  }

  /** `waitAtEnd`: at the end, wait for appended lines (until close) instead of ending. */
  source(waitAtEnd: boolean): LineSource {
    return () => this.batches(waitAtEnd);
  }

  private async *batches(waitAtEnd: boolean): AsyncGenerator<string[]> {
    let i = 0;
    for (;;) {
      for (; i < this.lines.length; i = Math.min(i + MEMORY_BATCH_LINES, this.lines.length)) yield this.lines.slice(i, i + MEMORY_BATCH_LINES);
      if (!waitAtEnd || this.closed) return;
      await new Promise<void>((resolve) => this.waiting.add(resolve));
    }
  }

  private wake(): void {
    for (const resolve of this.waiting) resolve();
    this.waiting.clear();
  }
}

async function fileSource(path: string): Promise<LineSource> {
  try {
    await access(path, constants.R_OK);
  } catch (err) {
    throw new Error(`jetstream replay: cannot read ${path}: ${err instanceof Error ? err.message : String(err)}`);
  }
  return () => readLineBatches(path);
}

/** Streams a file as batches of lines; the read stream is destroyed if the consumer stops early. */
async function* readLineBatches(path: string): AsyncGenerator<string[]> {
  let partial = '';
  const stream = createReadStream(path, { encoding: 'utf8', highWaterMark: FILE_CHUNK_BYTES });
  for await (const chunk of stream as AsyncIterable<string>) {
    const lines = (partial + chunk).split('\n');
    partial = lines.pop() ?? '';
    yield lines.map(stripCr);
  }
  if (partial !== '') yield [stripCr(partial)];
}

const stripCr = (line: string): string => (line.endsWith('\r') ? line.slice(0, -1) : line);

interface Playback {
  source: LineSource;
  sub: Subscription;
  ratePerSec: number;
  withSequence: boolean;
  atEnd: 'idle' | 'close';
  counters: { framesSent: number };
  record: ConnectionRecord;
  faults: FaultState;
}

/** The host's current fault, and the playbacks waiting for a stall to end. */
class FaultState {
  fault: JetstreamFault | undefined;
  private readonly waiting = new Set<() => void>();

  set(fault: JetstreamFault | undefined): void {
    if (fault?.kind === 'slow' && !(Number.isFinite(fault.ratePerSec) && fault.ratePerSec > 0)) {
      throw new RangeError(`jetstream replay: a slow fault needs ratePerSec > 0, got ${fault.ratePerSec}`);
    }
    this.fault = fault;
    for (const wake of this.waiting) wake();
    this.waiting.clear();
  }

  /** The pace in force: a slow fault overrides the configured rate. */
  rate(configured: number): number {
    return this.fault?.kind === 'slow' ? this.fault.ratePerSec : configured;
  }

  /** Resolves once the host is not stalled (at once if it is not), or when `signal` aborts. */
  async unstalled(signal: AbortSignal): Promise<void> {
    while (this.fault?.kind === 'stall' && !signal.aborted) {
      await new Promise<void>((resolve) => {
        this.waiting.add(resolve);
        signal.addEventListener('abort', () => resolve(), { once: true });
      });
    }
  }
}

async function play(ws: WebSocket, p: Playback): Promise<void> {
  const closed = new AbortController();
  let resumeAfterDrain: (() => void) | undefined;
  ws.once('close', () => {
    closed.abort();
    resumeAfterDrain?.();
  });
  // Every send reports when its bytes reach the socket; that is where a backpressure wait ends.
  const onWritten = (): void => {
    if (resumeAfterDrain && ws.bufferedAmount <= LOW_WATER_BYTES) {
      resumeAfterDrain();
      resumeAfterDrain = undefined;
    }
  };

  const { cursor, wantedCollections } = p.sub;
  const seqCursor = cursor?.kind === 'seq' ? cursor.value : undefined;
  const filter = collectionFilter(wantedCollections);
  const select: Selection = {
    timeCursor: cursor?.kind === 'time' ? cursor.value : undefined,
    filter,
    withSequence: p.withSequence,
    // Parsing is the expensive part; pure pass-through playback skips it.
    parse: cursor?.kind === 'time' || filter !== undefined || p.withSequence,
  };

  // Pacing restarts whenever the rate in force changes (a slow fault set or cleared).
  let pace = { rate: -1, started: 0, sent: 0 };
  let seq = 0;
  for await (const batch of p.source()) {
    for (const line of batch) {
      seq++;
      if (seqCursor !== undefined && seq < seqCursor) continue;
      // Blank lines keep their line number but are not events: Jetstream never sends empty frames.
      if (line.trim() === '') continue;
      const frame = frameFor(line, seq, select);
      if (frame === undefined) continue;

      const rate = p.faults.rate(p.ratePerSec);
      if (rate !== pace.rate) pace = { rate, started: performance.now(), sent: 0 };
      if (rate > 0) {
        const wait = pace.started + (pace.sent * 1000) / rate - performance.now();
        if (wait > 0) await sleep(Math.max(wait, TICK_MS), undefined, { signal: closed.signal }).catch(() => {});
      }
      if (ws.bufferedAmount > HIGH_WATER_BYTES && !closed.signal.aborted) {
        await new Promise<void>((resolve) => (resumeAfterDrain = resolve));
      }
      if (p.faults.fault?.kind === 'stall') {
        await p.faults.unstalled(closed.signal);
        pace.rate = -1; // no burst to make up for the stall
      }
      if (closed.signal.aborted || ws.readyState !== WebSocket.OPEN) return;
      ws.send(frame, onWritten);
      pace.sent++;
      p.counters.framesSent++;
      p.record.framesSent++;
      p.record.firstFrameAt ??= Date.now();
      p.record.lastLine = seq;
    }
  }
  if (p.atEnd === 'close' && ws.readyState === WebSocket.OPEN) ws.close(1000, 'end of replay');
}

interface Selection {
  timeCursor: number | undefined;
  filter: ((collection: string) => boolean) | undefined;
  withSequence: boolean;
  parse: boolean;
}

/** The frame to send for one line, or undefined when this subscription skips it. */
function frameFor(line: string, seq: number, s: Selection): string | undefined {
  if (!s.parse) return line;
  // Fast path for the benchmark's common case, a plain collection filter: a commit whose
  // collection is wanted goes out as is, without a parse (it would be sent either way).
  if (s.timeCursor === undefined && !s.withSequence && s.filter) {
    const collection = commitCollection(line);
    if (collection !== undefined && s.filter(collection)) return line;
  }
  let event: unknown;
  try {
    event = JSON.parse(line);
  } catch {
    event = undefined;
  }
  if (!isObject(event)) {
    // Malformed lines go out raw so clients see them; having no time_us, they never satisfy a time cursor.
    return s.timeCursor === undefined ? line : undefined;
  }
  if (s.timeCursor !== undefined && !(typeof event.time_us === 'number' && event.time_us >= s.timeCursor)) return undefined;
  // The collection filter applies to commits only: identity and account events always go out.
  if (s.filter && event.kind === 'commit') {
    const collection = isObject(event.commit) && typeof event.commit.collection === 'string' ? event.commit.collection : '';
    if (!s.filter(collection)) return undefined;
  }
  return s.withSequence ? JSON.stringify({ ...event, cursor: seq }) : line;
}

/**
 * The commit collection named in a raw line, read without parsing. Quotes inside JSON
 * strings are escaped, so `"collection":"` can only be a key; Jetstream writes the
 * commit's own key before its record, so the first one is the commit's.
 */
function commitCollection(line: string): string | undefined {
  if (!line.includes('"kind":"commit"')) return undefined;
  const key = '"collection":"';
  const start = line.indexOf(key);
  if (start < 0) return undefined;
  const end = line.indexOf('"', start + key.length);
  return end < 0 ? undefined : line.slice(start + key.length, end);
}

function collectionFilter(wanted: readonly string[]): ((collection: string) => boolean) | undefined {
  if (wanted.length === 0) return undefined;
  const exact = new Set(wanted.filter((w) => !w.endsWith('.*')));
  const prefixes = wanted.filter((w) => w.endsWith('.*')).map((w) => w.slice(0, -1)); // keeps the dot
  return (collection) => exact.has(collection) || prefixes.some((prefix) => collection.startsWith(prefix));
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** WebSocket close reasons are capped at 123 bytes. */
function truncateUtf8(text: string, maxBytes: number): string {
  const bytes = Buffer.from(text);
  return bytes.length <= maxBytes ? text : bytes.subarray(0, maxBytes).toString('utf8').replace(/\uFFFD$/, '');
}

/**
 * Of `lines`, how many a subscription naming `wantedCollections` (and no cursor) is sent,
 * and the line number (`lastLine`) of the last one: what a test waits for.
 */
export function framesSentFor(lines: readonly string[], wantedCollections: readonly string[]): { frames: number; lastLine: number } {
  const selection: Selection = { timeCursor: undefined, filter: collectionFilter(wantedCollections), withSequence: false, parse: true };
  let frames = 0;
  let lastLine = 0;
  lines.forEach((line, i) => {
    if (line.trim() === '' || frameFor(line, i + 1, selection) === undefined) return;
    frames++;
    lastLine = i + 1;
  });
  return { frames, lastLine };
}
