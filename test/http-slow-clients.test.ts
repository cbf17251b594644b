import net from 'node:net';
import type { AddressInfo } from 'node:net';
import express from 'express';
import { describe, expect, it } from 'vitest';
import { HEADERS_TIMEOUT_MS, listen, REQUEST_TIMEOUT_MS } from '../src/http/server.js';

describe('slow clients', () => {
  it('closes a connection that trickles its headers after HEADERS_TIMEOUT_MS, and serves others meanwhile', async () => {
    const app = express();
    app.get('/ok', (_req, res) => res.json({ ok: true }));
    const server = await listen(app, 0, '127.0.0.1');
    const { port } = server.address() as AddressInfo;
    try {
      expect(server.requestTimeout).toBe(REQUEST_TIMEOUT_MS);
      const socket = net.connect(port, '127.0.0.1');
      const started = Date.now();
      const closed = new Promise<number>((resolve) => socket.once('close', () => resolve(Date.now() - started)));
      socket.on('error', () => {});
      socket.write('GET /ok HTTP/1.1\r\nHost: x\r\nX-Slow: ');
      const trickle = setInterval(() => socket.write('a'), 500);
      try {
        expect((await fetch(`http://127.0.0.1:${port}/ok`)).status).toBe(200);
        const ms = await closed;
        expect(ms).toBeGreaterThanOrEqual(HEADERS_TIMEOUT_MS - 100);
        expect(ms).toBeLessThan(HEADERS_TIMEOUT_MS + 3000);
      } finally {
        clearInterval(trickle);
        socket.destroy();
      }
    } finally {
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    }
  }, 20_000);
});
