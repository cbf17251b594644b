/**
 * Seeded random requests against the XRPC surface: real routes with absurd parameters,
 * cursors, headers and bodies, unknown routes and methods, and bytes that are not HTTP.
 * Every one of them is bad or odd input, so none may get a 5xx.
 */
import { Rng } from '../../../testkit/dataset/random.js';
import { FEED_URI, type SignedUser } from '../../../testkit/processes/feed-service.js';
import type { RawRequest } from './raw-http.js';

export type RandomRequest = { kind: 'http'; label: string; request: RawRequest } | { kind: 'bytes'; label: string; bytes: string };

const SKELETON = '/xrpc/app.bsky.feed.getFeedSkeleton';
const DESCRIBE = '/xrpc/app.bsky.feed.describeFeedGenerator';
const INTERACTIONS = '/xrpc/app.bsky.feed.sendInteractions';

export class RandomRequests {
  private readonly rng: Rng;

  /** `tokens` are valid bearer headers (per user and method), so some requests get past auth. */
  constructor(
    seed: number,
    private readonly tokens: { skeleton: string[]; interactions: string[] },
    private readonly users: SignedUser[],
  ) {
    this.rng = new Rng(seed);
  }

  next(): RandomRequest {
    const r = this.rng.below(100);
    if (r < 45) return { kind: 'http', label: 'getFeedSkeleton', request: this.skeleton() };
    if (r < 55) return { kind: 'http', label: 'describeFeedGenerator', request: { method: this.pick(['GET', 'GET', 'HEAD', 'POST']), path: `${DESCRIBE}?${this.query()}`, headers: this.headers() } };
    if (r < 80) return { kind: 'http', label: 'sendInteractions', request: this.interactions() };
    if (r < 95) return { kind: 'http', label: 'unknown route or method', request: this.unknown() };
    return { kind: 'bytes', label: 'not HTTP', bytes: this.garbageBytes() };
  }

  private skeleton(): RawRequest {
    const params: string[] = [];
    if (this.rng.below(10) > 0) params.push(`feed=${this.feedValue()}`);
    if (this.rng.below(10) === 0) params.push(`feed=${this.feedValue()}`);
    if (this.rng.below(2) === 0) params.push(`limit=${this.limitValue()}`);
    if (this.rng.below(2) === 0) params.push(`cursor=${this.cursorValue()}`);
    if (this.rng.below(4) === 0) params.push(this.query());
    const headers = this.headers();
    if (this.rng.below(3) === 0) headers.authorization = this.authorization(this.tokens.skeleton);
    return { method: this.pick(['GET', 'GET', 'GET', 'HEAD']), path: `${SKELETON}?${this.shuffle(params).join('&')}`, headers };
  }

  private interactions(): RawRequest {
    const headers: Record<string, string> = { ...this.headers(), 'content-type': this.pick(['application/json', 'application/json', 'text/plain', 'application/json; charset=utf-16', 'multipart/form-data', '']) };
    if (this.rng.below(4) > 0) headers.authorization = this.authorization(this.tokens.interactions);
    if (headers['content-type'] === '') delete headers['content-type'];
    return { method: this.pick(['POST', 'POST', 'POST', 'GET', 'PUT']), path: INTERACTIONS, headers, body: this.interactionBody() };
  }

  private unknown(): RawRequest {
    const paths = [
      '/xrpc/com.atproto.server.createSession', '/xrpc/app.bsky.feed.getTimeline', '/xrpc/', '/xrpc/..%2f..%2fetc%2fpasswd', '/../../etc/passwd',
      '/admin', '/%', '/%E0%A4%A', '/xrpc/app.bsky.feed.getFeedSkeleton/extra', `/${'a'.repeat(this.rng.below(8000))}`, '/.well-known/did.json?x=%ZZ',
      '/metrics?x[]=1', '/playground?actor=%00', '/xrpc/_health?'.padEnd(200, '&'), '//double//slashes', '/XRPC/APP.BSKY.FEED.GETFEEDSKELETON',
    ];
    return { method: this.pick(['GET', 'POST', 'PUT', 'DELETE', 'PATCH', 'OPTIONS', 'TRACE', 'PROPFIND']), path: this.pick(paths), headers: this.headers(), body: this.rng.below(3) === 0 ? this.interactionBody() : undefined };
  }

  private feedValue(): string {
    return encodeURIComponent(
      this.pick([
        FEED_URI, FEED_URI, FEED_URI, `${FEED_URI}x`, FEED_URI.replace('for-you', 'other'), 'at://did:plc:someoneelsexxxxxxxxxxxxxx/app.bsky.feed.generator/for-you',
        'not-a-uri', '', 'at://', 'https://example.com/feed', `at://${'a'.repeat(9000)}`, 'at://did:plc:x/app.bsky.feed.generator/for-you?q=1#frag', '\u0000', '🙂',
      ]),
    );
  }

  private limitValue(): string {
    return encodeURIComponent(this.pick(['1', '50', '100', '0', '101', '-1', '1e3', '99999999999999999999', '3.5', 'abc', '', ' 5', '0x10', String(this.rng.below(200))]));
  }

  private cursorValue(): string {
    const reqId = this.base32(1 + this.rng.below(20));
    return encodeURIComponent(
      this.pick([
        `${reqId}:${this.rng.below(600)}`, `${reqId}:-1`, `${reqId}:1e9`, `${reqId}:`, `:${this.rng.below(10)}`, 'garbage', '', ':::::', `${reqId}:99999999999999999999`,
        'a'.repeat(this.rng.below(400)), '\u0000:1', '🙂:1', `${reqId}:${this.rng.below(600)}:${this.rng.below(5)}`,
      ]),
    );
  }

  private query(): string {
    const keys = ['x', 'feed[]', 'limit[a]', '__proto__', 'constructor[prototype]', 'cursor', '%', 'a'.repeat(300)];
    return `${this.pick(keys)}=${encodeURIComponent(this.pick(['1', '', '%', 'x'.repeat(this.rng.below(2000))]))}`;
  }

  private headers(): Record<string, string> {
    const headers: Record<string, string> = {};
    const optional: Array<[string, () => string]> = [
      ['accept', () => this.pick(['*/*', 'application/json', 'text/html', 'image/png', 'x'.repeat(2000)])],
      ['accept-encoding', () => this.pick(['gzip', 'br', 'identity;q=0', 'x'])],
      ['x-forwarded-for', () => this.pick(['1.2.3.4', '::1', 'garbage', '1.1.1.1, 2.2.2.2'])],
      ['fly-client-ip', () => `10.0.${this.rng.below(256)}.${this.rng.below(256)}`],
      ['fly-replay-src', () => this.pick(['instance=x;region=ams;t=1;state=write', 'garbage'])],
      ['fly-request-id', () => this.pick(['01J0000000000000000000000-ams', 'x'.repeat(500), '<script>'])],
      ['x-request-id', () => this.base32(this.rng.below(300))],
      ['cookie', () => `session=${this.base32(40)}`],
      ['range', () => 'bytes=0-10'],
      ['if-none-match', () => '"abc"'],
      ['content-length', () => this.pick(['0', '5'])],
      ['x-long', () => 'y'.repeat(this.rng.below(12_000))],
    ];
    for (const [name, value] of optional) if (this.rng.below(6) === 0) headers[name] = value();
    // A declared length that disagrees with the body is not something we send on purpose here.
    delete headers['content-length'];
    return headers;
  }

  private authorization(valid: string[]): string {
    const user = this.pick(this.users);
    return this.pick([
      this.pick(valid), this.pick(valid), 'Bearer', 'Bearer ', `Basic ${Buffer.from('a:b').toString('base64')}`, 'Bearer a.b.c', 'Bearer ...', 'bearer x',
      `Bearer ${'a'.repeat(9000)}`, `Bearer ${this.base32(20)}.${this.base32(40)}.${this.base32(30)}`,
      `Bearer ${b64({ alg: 'ES256K', typ: 'JWT' })}.${b64({ iss: user.did, aud: 'did:web:feed.example.com', exp: 1 })}.${this.base32(86)}`,
      `Bearer ${b64({ alg: 'none' })}.${b64({ iss: user.did, aud: 'did:web:feed.example.com', lxm: 'app.bsky.feed.getFeedSkeleton', exp: 9999999999 })}.x`,
      `Bearer ${b64('[]')}.${b64('null')}.${this.base32(10)}`,
    ]);
  }

  private interactionBody(): string {
    const interaction = () =>
      this.pick<unknown>([
        { item: 'at://did:plc:abc/app.bsky.feed.post/3k2a', event: 'app.bsky.feed.defs#interactionSeen' },
        { item: 'garbage', event: 'app.bsky.feed.defs#requestLess' },
        { item: 42, event: 'app.bsky.feed.defs#requestMore' },
        { event: 7 },
        { event: 'app.bsky.feed.defs#unknownEvent', feedContext: 'x'.repeat(this.rng.below(3000)) },
        { reqId: 'r'.repeat(this.rng.below(200)) },
        null,
        'string',
        [],
      ]);
    return this.pick<() => string>([
      () => JSON.stringify({ interactions: Array.from({ length: this.rng.below(130) }, interaction) }),
      () => JSON.stringify({ feed: this.pick([FEED_URI, 'nope', 5]), interactions: [interaction()] }),
      () => JSON.stringify({ interactions: 'all of them' }),
      () => JSON.stringify([1, 2, 3]),
      () => 'null',
      () => '{"interactions": [',
      () => '',
      () => '{"__proto__": {"polluted": true}, "interactions": []}',
      () => '{"interactions":' + '['.repeat(5000) + ']'.repeat(5000) + '}',
      () => this.base32(this.rng.below(5000)),
    ])();
  }

  private garbageBytes(): string {
    return this.pick([
      'GARBAGE\r\n\r\n', 'GET / HTTP/9.9\r\n\r\n', 'GET /xrpc/_health HTTP/1.1\r\nHost: x\r\nContent-Length: -1\r\n\r\n',
      'GET /xrpc/_health HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nContent-Length: 5\r\n\r\n0\r\n\r\n',
      'POST /xrpc/app.bsky.feed.sendInteractions HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n\r\n',
      `GET /${'a'.repeat(20_000)} HTTP/1.1\r\nHost: x\r\n\r\n`, `GET / HTTP/1.1\r\n${'X-A: b\r\n'.repeat(3000)}\r\n`, '\u0000\u0001\u0002\r\n\r\n',
      'GET /xrpc/_health HTTP/1.1\r\nHost: x\r\nBad Header Name: 1\r\n\r\n',
    ]);
  }

  private pick<T>(items: readonly T[]): T {
    return this.rng.pick(items);
  }

  private shuffle<T>(items: T[]): T[] {
    for (let i = items.length - 1; i > 0; i--) {
      const j = this.rng.below(i + 1);
      [items[i], items[j]] = [items[j]!, items[i]!];
    }
    return items;
  }

  private base32(length: number): string {
    let out = '';
    for (let i = 0; i < length; i++) out += 'abcdefghijklmnopqrstuvwxyz234567'[this.rng.below(32)];
    return out;
  }
}

function b64(value: unknown): string {
  return Buffer.from(typeof value === 'string' ? value : JSON.stringify(value)).toString('base64url');
}
