import { Writable } from 'node:stream';
import { afterAll, describe, expect, it } from 'vitest';
import { createLogger } from '../src/observability/logger.js';
import { killAllServices, spawnService } from '../testkit/processes/child-service.js';
import { waitFor } from '../testkit/processes/service.js';
import { freePort } from '../testkit/processes/processes.js';

function capture() {
  const lines: string[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _encoding, done) {
      lines.push(chunk.toString());
      done();
    },
  });
  return { stream, text: () => lines.join('') };
}

describe('logs', () => {
  afterAll(() => killAllServices());

  it('redact secrets even when an object holding them is logged', () => {
    const out = capture();
    const log = createLogger('info', {}, out.stream);
    log.info({ req: { headers: { authorization: 'Bearer eyJsecret', cookie: 'sid=1' } }, env: { AWS_SECRET_ACCESS_KEY: 'tigris-secret' }, password: 'hunter2' }, 'x');
    expect(out.text()).not.toMatch(/eyJsecret|sid=1|tigris-secret|hunter2/);
    expect(out.text()).toContain('[redacted]');
  });

  it('of a whole service run (start, rejected tokens, stop) never hold a secret; requests carry ids', async () => {
    const secret = 'SECRET-aws-key-0123456789';
    const token = 'eyJhbGciOiJFUzI1NiJ9.eyJpc3MiOiJkaWQ6cGxjOmZvcmdlZCJ9.c2lnbmF0dXJl';
    const port = await freePort();
    const service = spawnService({
      PORT: String(port),
      LOG_LEVEL: 'trace',
      JETSTREAM_URL: 'ws://127.0.0.1:9/never',
      AWS_ACCESS_KEY_ID: 'key-id',
      AWS_SECRET_ACCESS_KEY: secret,
      BSKY_APP_PASSWORD: secret,
    });
    const base = `http://127.0.0.1:${port}`;
    await waitFor(() => fetch(`${base}/xrpc/_health`).then(() => true, () => undefined), 20_000, 'service up');

    const feed = await fetch(`${base}/xrpc/app.bsky.feed.getFeedSkeleton?feed=at://did:web:localhost/app.bsky.feed.generator/for-you`, {
      headers: { authorization: `Bearer ${token}`, 'fly-request-id': '01HX-req_id' },
    });
    expect(feed.status).toBe(401);
    expect(feed.headers.get('x-request-id')).toBe('01HX-req_id');
    const post = await fetch(`${base}/xrpc/app.bsky.feed.sendInteractions`, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json', 'fly-request-id': 'bad id with spaces' },
      body: '{"interactions":[]}',
    });
    expect(post.status).toBeGreaterThanOrEqual(400);
    expect(post.headers.get('x-request-id')).toMatch(/^[A-Za-z0-9_-]{12}$/); // a new one, not the unsafe given one

    service.child.kill('SIGTERM');
    expect(await service.exited).toBe(0);
    const output = service.output();
    expect(output.length).toBeGreaterThan(0);
    expect(output).not.toContain(secret);
    expect(output).not.toContain(token);
  }, 40_000);
});
