/**
 * HTTP requests as an abuser sends them: any method, path and header values (fetch
 * normalizes or refuses many), and raw bytes on a socket for what is not HTTP at all.
 * One connection per request, so a connection the server closes on purpose after an
 * answer never shows up as a lost answer to the next request.
 */
import http from 'node:http';
import net from 'node:net';

export interface RawRequest {
  method: string;
  path: string;
  headers?: Record<string, string>;
  body?: string | Buffer;
  /** The loopback address to send from (127.0.0.1 unless said): another address is another client. */
  from?: string;
}

export interface RawResponse {
  /** 0 when no answer came (connection reset or timed out). */
  status: number;
  body: string;
  ms: number;
}

export function send(port: number, request: RawRequest, timeoutMs = 30_000): Promise<RawResponse> {
  const started = performance.now();
  return new Promise((resolve) => {
    const done = (status: number, body: string) => resolve({ status, body, ms: performance.now() - started });
    let req: http.ClientRequest;
    try {
      req = http.request({ host: '127.0.0.1', localAddress: request.from, port, method: request.method, path: request.path, headers: request.headers, agent: false, timeout: timeoutMs });
    } catch (err) {
      // Node refuses some header values itself; nothing reached the server.
      return done(-1, String(err));
    }
    req.on('response', (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('end', () => done(res.statusCode ?? 0, Buffer.concat(chunks).toString('utf8')));
      res.on('error', () => done(res.statusCode ?? 0, ''));
    });
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', () => done(0, ''));
    req.end(request.body);
  });
}

/** Writes bytes to a fresh connection; the status of the first response line, or 0 if the server only closed. */
export function sendBytes(port: number, bytes: string | Buffer, timeoutMs = 10_000): Promise<RawResponse> {
  const started = performance.now();
  return new Promise((resolve) => {
    const socket = net.connect(port, '127.0.0.1');
    let received = '';
    const finish = () => {
      socket.destroy();
      const status = Number(/^HTTP\/1\.[01] (\d{3})/.exec(received)?.[1] ?? 0);
      resolve({ status, body: received, ms: performance.now() - started });
    };
    socket.setTimeout(timeoutMs, finish);
    socket.on('data', (chunk: Buffer) => {
      received += chunk.toString('latin1');
      if (received.includes('\r\n\r\n')) finish();
    });
    socket.on('error', finish);
    socket.on('close', finish);
    socket.end(bytes);
  });
}

/** The XRPC error name of an error body, or undefined. */
export function errorName(body: string): string | undefined {
  try {
    const parsed = JSON.parse(body) as { error?: unknown };
    return typeof parsed.error === 'string' ? parsed.error : undefined;
  } catch {
    return undefined;
  }
}
