/**
 * A WebSocket server that plays an explicit list of frames, text or binary, on
 * `/subscribe`: the Jetstream replay stand-in only sends JSONL text lines, and the
 * fuzzer needs binary and oversized frames too. Every connection gets the whole list
 * from the start (the fuzz scenario checks that there was only one connection).
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { WebSocketServer, type WebSocket } from 'ws';

export interface Frame {
  data: string | Buffer;
  binary: boolean;
}

export interface FrameListServer {
  /** ws://127.0.0.1:PORT/subscribe */
  url: string;
  stats(): { connections: number; framesSent: number; finished: number };
  close(): Promise<void>;
}

/** Above this many unsent bytes the playback waits, so a slow reader never makes us buffer the list. */
const HIGH_WATER_BYTES = 4 * 1024 * 1024;

/** `frames` is called once per connection: a generator keeps big frames out of memory until sent. */
export async function startFrameListServer(frames: () => Iterable<Frame>): Promise<FrameListServer> {
  const counters = { connections: 0, framesSent: 0, finished: 0 };
  const sockets = new Set<WebSocket>();
  const server = createServer((_req, res) => res.writeHead(404).end());
  const wss = new WebSocketServer({ noServer: true });
  server.on('upgrade', (req, socket, head) => {
    if (new URL(req.url ?? '/', 'http://frames').pathname !== '/subscribe') return socket.destroy();
    wss.handleUpgrade(req, socket, head, (ws) => {
      counters.connections++;
      sockets.add(ws);
      ws.on('close', () => sockets.delete(ws));
      ws.on('error', () => ws.terminate());
      void play(ws, frames(), counters);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `ws://127.0.0.1:${port}/subscribe`,
    stats: () => ({ ...counters }),
    async close() {
      sockets.forEach((ws) => ws.terminate());
      wss.close();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

/** Sends every frame in order, then leaves the connection open and idle, as a quiet host does. */
async function play(ws: WebSocket, frames: Iterable<Frame>, counters: { framesSent: number; finished: number }): Promise<void> {
  for (const frame of frames) {
    while (ws.bufferedAmount > HIGH_WATER_BYTES && ws.readyState === ws.OPEN) await sleep(2);
    if (ws.readyState !== ws.OPEN) return;
    ws.send(frame.data, { binary: frame.binary });
    counters.framesSent++;
  }
  counters.finished++;
}
