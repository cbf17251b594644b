/**
 * Slow clients: a slowloris (request headers trickled a byte at a time, never finished)
 * and a slow body (headers complete, the declared body trickled). Each resolves with
 * how long the server kept the connection before closing it.
 */
import net from 'node:net';

export interface SlowClient {
  /** Seconds from the first byte until the server closed; undefined if we gave up first. */
  closedAfter: Promise<number | undefined>;
  stop(): void;
}

export function slowClient(port: number, kind: 'headers' | 'body', giveUpMs: number, byteEveryMs = 1000): SlowClient {
  const socket = net.connect(port, '127.0.0.1');
  const started = Date.now();
  const opening =
    kind === 'headers'
      ? 'GET /xrpc/_health HTTP/1.1\r\nHost: feed\r\nX-Slow: '
      : 'POST /xrpc/app.bsky.feed.sendInteractions HTTP/1.1\r\nHost: feed\r\nContent-Type: application/json\r\nContent-Length: 100000\r\n\r\n{"interactions":[';
  let timer: NodeJS.Timeout | undefined;
  const closedAfter = new Promise<number | undefined>((resolve) => {
    const giveUp = setTimeout(() => {
      socket.destroy();
      resolve(undefined);
    }, giveUpMs);
    socket.once('close', () => {
      clearTimeout(giveUp);
      clearInterval(timer);
      resolve((Date.now() - started) / 1000);
    });
  });
  socket.on('error', () => socket.destroy());
  socket.on('data', () => {}); // a 408 may come before the close
  socket.once('connect', () => {
    socket.write(opening);
    timer = setInterval(() => {
      if (!socket.destroyed) socket.write(kind === 'headers' ? 'a' : ' ');
    }, byteEveryMs);
  });
  return {
    closedAfter,
    stop: () => {
      clearInterval(timer);
      socket.destroy();
    },
  };
}
