import WebSocket from 'ws';
import type { Logger } from '../observability/logger.js';
import type { EventSource, FrameSubscriber } from './event-source.js';

export interface JetstreamClientOptions {
  /** `/subscribe` endpoints, tried in order; a failure moves on to the next. */
  urls: readonly string[];
  wantedCollections: readonly string[];
  reconnectMinMs: number;
  reconnectMaxMs: number;
  /** A connection that delivers nothing for this long is dropped (a stalled host never closes). */
  stallTimeoutMs: number;
  /** Hard cap on one frame; the parser rejects smaller oversized frames itself. */
  maxPayloadBytes: number;
  log: Logger;
  random?: () => number;
}

/**
 * A Jetstream subscriber that never gives up: fail-over across hosts, capped
 * exponential backoff with full jitter, stall detection, and a cursor chosen
 * afresh at every connection. Each frame's origin is the host's `/subscribe` URL.
 */
export class JetstreamClient implements EventSource {
  private socket: WebSocket | undefined;
  private hostIndex = 0;
  private failures = 0;
  private stopped = true;
  private paused = false;
  private reconnectTimer: NodeJS.Timeout | undefined;
  private stallTimer: NodeJS.Timeout | undefined;
  private readonly random: () => number;

  constructor(private readonly options: JetstreamClientOptions) {
    if (options.urls.length === 0) throw new Error('jetstream client needs at least one url');
    this.random = options.random ?? Math.random;
  }

  start(subscriber: FrameSubscriber): void {
    this.stopped = false;
    this.connect(subscriber);
  }

  /** Stops reading: TCP flow control holds the host back while the writer cannot keep up. */
  pause(): void {
    this.paused = true;
    this.socket?.pause();
    this.clearStallTimer();
  }

  resume(): void {
    this.paused = false;
    this.socket?.resume();
    this.armStallTimer();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.reconnectTimer);
    this.clearStallTimer();
    const socket = this.socket;
    this.socket = undefined;
    if (!socket || socket.readyState === WebSocket.CLOSED) return;
    // A paused socket would not read the host's close reply, and the close would wait for the force.
    socket.resume();
    await new Promise<void>((resolve) => {
      const force = setTimeout(() => socket.terminate(), 1000);
      socket.once('close', () => {
        clearTimeout(force);
        resolve();
      });
      socket.close(1000, 'shutting down');
    });
  }

  private connect(subscriber: FrameSubscriber): void {
    const base = this.options.urls[this.hostIndex]!;
    const url = subscribeUrl(base, this.options.wantedCollections, subscriber.cursorFor(base));
    this.options.log.info({ url }, 'jetstream connecting');
    const socket = new WebSocket(url, {
      maxPayload: this.options.maxPayloadBytes,
      handshakeTimeout: this.options.stallTimeoutMs,
      // ws would close the connection on a text frame of invalid UTF-8, and the host would
      // resend it from the cursor forever; parseFrame rejects and counts it instead.
      skipUTF8Validation: true,
    });
    this.socket = socket;
    let delivered = false;

    // Only the current connection speaks: after stop(), or from a socket given up on, nothing.
    const current = () => this.socket === socket;
    socket.on('open', () => {
      if (!current()) return;
      subscriber.onConnect(base);
      if (this.paused) socket.pause();
      else this.armStallTimer();
    });
    socket.on('message', (data, isBinary) => {
      if (!current()) return;
      if (!delivered) {
        // A host that delivers is healthy again: the next failure starts a fresh backoff.
        delivered = true;
        this.failures = 0;
      }
      this.armStallTimer();
      subscriber.onFrame(toBuffer(data), isBinary, base);
    });
    socket.on('error', (err) => {
      this.options.log.warn({ url: base, err: err.message }, 'jetstream connection error');
    });
    socket.on('close', (code, reasonBuffer) => {
      if (!current()) return;
      this.socket = undefined;
      this.clearStallTimer();
      const reason = `closed with code ${code}${reasonBuffer.length ? `: ${reasonBuffer.toString()}` : ''}`;
      subscriber.onDisconnect(base, reason);
      if (!this.stopped) this.scheduleReconnect(subscriber, reason);
    });
  }

  private scheduleReconnect(subscriber: FrameSubscriber, reason: string): void {
    this.failures++;
    // Move to the next host on every failure; with one host this retries it.
    this.hostIndex = (this.hostIndex + 1) % this.options.urls.length;
    const ceiling = Math.min(this.options.reconnectMaxMs, this.options.reconnectMinMs * 2 ** Math.min(this.failures - 1, 30));
    const delayMs = Math.round(this.options.reconnectMinMs / 2 + this.random() * (ceiling - this.options.reconnectMinMs / 2));
    this.options.log.warn({ reason, failures: this.failures, delayMs, next: this.options.urls[this.hostIndex] }, 'jetstream reconnecting');
    this.reconnectTimer = setTimeout(() => this.connect(subscriber), delayMs);
  }

  private armStallTimer(): void {
    if (this.paused) return;
    // Re-arming per message must stay cheap: refresh the existing timer.
    if (this.stallTimer) {
      this.stallTimer.refresh();
      return;
    }
    this.stallTimer = setTimeout(() => {
      this.stallTimer = undefined;
      this.options.log.warn({ stallTimeoutMs: this.options.stallTimeoutMs }, 'jetstream stalled, dropping connection');
      this.socket?.terminate();
    }, this.options.stallTimeoutMs);
  }

  private clearStallTimer(): void {
    clearTimeout(this.stallTimer);
    this.stallTimer = undefined;
  }
}

export function subscribeUrl(base: string, wantedCollections: readonly string[], cursor: number | undefined): string {
  const url = new URL(base);
  for (const collection of wantedCollections) url.searchParams.append('wantedCollections', collection);
  if (cursor !== undefined) url.searchParams.set('cursor', String(cursor));
  return url.toString();
}

function toBuffer(data: WebSocket.RawData): Buffer {
  if (Buffer.isBuffer(data)) return data;
  if (Array.isArray(data)) return Buffer.concat(data);
  return Buffer.from(data);
}
