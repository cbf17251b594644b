import http from 'node:http';
import https from 'node:https';
import { P256Keypair, Secp256k1Keypair, type Keypair } from '@atproto/crypto';
import { createServiceJwt, XRPCError } from '@atproto/xrpc-server';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { DidResolutionError, isPublicAddress, ServiceDidResolver, type DidResolverOptions } from '../src/atproto/did-resolver.js';
import { createServiceAuth } from '../src/atproto/service-auth.js';
import { atprotoDidDocument, randomPlcDid, startPlcDirectory, type PlcDirectory } from '../testkit/standins/plc-directory.js';

const SERVICE_DID = 'did:web:feed.example.com';
const LXM = 'app.bsky.feed.getFeedSkeleton';

let plc: PlcDirectory;
beforeAll(async () => {
  plc = await startPlcDirectory();
});
afterAll(async () => {
  await plc.close();
});
afterEach(() => {
  vi.restoreAllMocks();
});

function setup(opts: Partial<DidResolverOptions> = {}) {
  const resolver = new ServiceDidResolver({ plcUrl: plc.url, ...opts });
  return { resolver, auth: createServiceAuth({ serviceDid: SERVICE_DID, resolver }) };
}

async function newUser(keypair?: Keypair): Promise<{ did: string; key: Keypair }> {
  const key = keypair ?? (await Secp256k1Keypair.create());
  const did = randomPlcDid();
  plc.register(did, key);
  return { did, key };
}

async function bearer(iss: string, keypair: Keypair, overrides: { aud?: string; lxm?: string | null; exp?: number } = {}): Promise<string> {
  const jwt = await createServiceJwt({
    iss,
    aud: overrides.aud ?? SERVICE_DID,
    lxm: overrides.lxm === undefined ? LXM : overrides.lxm,
    exp: overrides.exp,
    keypair,
  });
  return `Bearer ${jwt}`;
}

/** The 401 and its error name; also that the message never carries the token. */
async function authFailure(promise: Promise<unknown>, header?: string): Promise<string | undefined> {
  const err = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(XRPCError);
  const xrpc = err as XRPCError;
  expect(xrpc.statusCode).toBe(401);
  const token = header?.replace(/^Bearer\s+/i, '');
  if (token && token.length >= 16) expect(JSON.stringify(xrpc.payload)).not.toContain(token.slice(0, 40));
  return xrpc.error;
}

async function resolutionFailure(promise: Promise<unknown>): Promise<string> {
  const err = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(DidResolutionError);
  return (err as DidResolutionError).name;
}

describe('service auth: valid tokens', () => {
  it('accepts a token for the service DID and answers the issuer', async () => {
    const { auth } = setup();
    const user = await newUser();
    expect(await auth.verify(await bearer(user.did, user.key), LXM)).toBe(user.did);
  });

  it('accepts the #bsky_fg audience and P-256 keys', async () => {
    const { auth } = setup();
    const user = await newUser(await P256Keypair.create());
    expect(await auth.verify(await bearer(user.did, user.key, { aud: `${SERVICE_DID}#bsky_fg` }), LXM)).toBe(user.did);
  });

  it('reads a relative #atproto key id as well as the full one', async () => {
    const { auth } = setup();
    const key = await Secp256k1Keypair.create();
    const did = randomPlcDid();
    const doc = atprotoDidDocument(did, key);
    plc.register(did, { ...doc, verificationMethod: doc.verificationMethod?.map((m) => ({ ...m, id: '#atproto' })) });
    expect(await auth.verify(await bearer(did, key), LXM)).toBe(did);
  });

  it('answers undefined without an Authorization header', async () => {
    const { auth } = setup();
    expect(await auth.verify(undefined, LXM)).toBeUndefined();
  });

  it('fetches a DID document once, then serves it from the cache', async () => {
    const { auth } = setup();
    const user = await newUser();
    await Promise.all([1, 2, 3].map(async () => auth.verify(await bearer(user.did, user.key), LXM)));
    await auth.verify(await bearer(user.did, user.key), LXM);
    expect(plc.requests(user.did)).toBe(1);
  });
});

describe('service auth: verified-token cache', () => {
  it('does not verify a token twice, and still refuses it once it has expired', async () => {
    const { auth, resolver } = setup();
    const user = await newUser();
    const header = await bearer(user.did, user.key, { exp: Math.floor(Date.now() / 1000) + 1 });
    const keyLookups = vi.spyOn(resolver, 'getSigningKey');
    expect(await auth.verify(header, LXM)).toBe(user.did);
    // A second check is a lookup: no key is asked for, no signature checked.
    expect(await auth.verify(header, LXM)).toBe(user.did);
    expect(keyLookups).toHaveBeenCalledTimes(1);
    await new Promise((resolve) => setTimeout(resolve, 2100));
    expect(await authFailure(auth.verify(header, LXM), header)).toBe('JwtExpired');
  });

  it('does not let a token verified for one method pass for another', async () => {
    const { auth } = setup();
    const user = await newUser();
    const header = await bearer(user.did, user.key);
    expect(await auth.verify(header, LXM)).toBe(user.did);
    expect(await authFailure(auth.verify(header, 'app.bsky.feed.sendInteractions'), header)).toBe('BadJwtLexiconMethod');
  });
});

describe('service auth: rejected tokens', () => {
  it('rejects an expired token', async () => {
    const { auth } = setup();
    const user = await newUser();
    const header = await bearer(user.did, user.key, { exp: Math.floor(Date.now() / 1000) - 10 });
    expect(await authFailure(auth.verify(header, LXM), header)).toBe('JwtExpired');
    expect(plc.requests(user.did)).toBe(0);
  });

  it('rejects another audience before resolving anything', async () => {
    const { auth } = setup();
    const user = await newUser();
    for (const aud of ['did:web:other.example.com', `${SERVICE_DID}#atproto_labeler`, `did:web:other.example.com#bsky_fg`]) {
      const header = await bearer(user.did, user.key, { aud });
      expect(await authFailure(auth.verify(header, LXM), header)).toBe('BadJwtAudience');
    }
    expect(plc.requests(user.did)).toBe(0);
  });

  it('rejects a token for another method, or for none', async () => {
    const { auth } = setup();
    const user = await newUser();
    const other = await bearer(user.did, user.key, { lxm: 'app.bsky.feed.sendInteractions' });
    expect(await authFailure(auth.verify(other, LXM), other)).toBe('BadJwtLexiconMethod');
    const none = await bearer(user.did, user.key, { lxm: null });
    expect(await authFailure(auth.verify(none, LXM), none)).toBe('BadJwtLexiconMethod');
  });

  it('rejects a token signed by another key, after one forced refresh', async () => {
    const { auth } = setup();
    const user = await newUser();
    const header = await bearer(user.did, await Secp256k1Keypair.create());
    expect(await authFailure(auth.verify(header, LXM), header)).toBe('BadJwtSignature');
    expect(plc.requests(user.did)).toBe(2); // the cached fetch, then the forced one
  });

  it('rejects an unknown DID (404 at the PLC)', async () => {
    const { auth } = setup();
    const header = await bearer(randomPlcDid(), await Secp256k1Keypair.create());
    expect(await authFailure(auth.verify(header, LXM), header)).toBe('DidNotFound');
  });

  it('rejects did:key and service issuers', async () => {
    const { auth } = setup();
    const key = await Secp256k1Keypair.create();
    // A did:key is its own key: accepting it would let anyone sign as it.
    const didKey = await bearer(key.did(), key);
    expect(await authFailure(auth.verify(didKey, LXM), didKey)).toBe('DidUnresolvable');
    const user = await newUser(key);
    const service = await bearer(`${user.did}#atproto_labeler`, key);
    expect(await authFailure(auth.verify(service, LXM), service)).toBe('BadJwtIss');
  });

  // Across key types too: verifyJwt would not refetch when the cached key's type differs.
  it.each([
    ['K-256', () => Secp256k1Keypair.create()],
    ['P-256', () => P256Keypair.create()],
  ])('follows a key rotation (K-256 to %s) through the forced refresh, once per interval', async (_type, newKey) => {
    const { auth } = setup();
    const keyA = await Secp256k1Keypair.create();
    const keyB = await newKey();
    const user = await newUser(keyA);
    expect(await auth.verify(await bearer(user.did, keyA), LXM)).toBe(user.did);
    expect(plc.requests(user.did)).toBe(1);

    plc.register(user.did, keyB); // rotation at the PLC; our cache still holds A
    expect(await auth.verify(await bearer(user.did, keyB), LXM)).toBe(user.did);
    expect(plc.requests(user.did)).toBe(2);
    expect(await auth.verify(await bearer(user.did, keyB), LXM)).toBe(user.did);
    expect(plc.requests(user.did)).toBe(2);

    // The old key no longer verifies, and cannot force another fetch so soon.
    const stale = await bearer(user.did, keyA);
    expect(await authFailure(auth.verify(stale, LXM), stale)).toBe('BadJwtSignature');
    expect(plc.requests(user.did)).toBe(2);
  });
});

describe('service auth: malformed headers', () => {
  const b64 = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');
  const exp = Math.floor(Date.now() / 1000) + 60;
  const cases: Array<[string, string, string]> = [
    ['empty', '', 'BadAuthScheme'],
    ['another scheme', 'Basic dXNlcjpwYXNz', 'BadAuthScheme'],
    ['Bearer without a token', 'Bearer', 'BadAuthScheme'],
    ['two tokens', 'Bearer a.b.c d.e.f', 'BadAuthScheme'],
    ['two parts', 'Bearer abc.def', 'BadJwtFormat'],
    ['four parts', 'Bearer a.b.c.d', 'BadJwtFormat'],
    ['empty signature (alg none)', `Bearer ${b64({ alg: 'none' })}.${b64({ iss: 'did:plc:x', aud: SERVICE_DID, exp })}.`, 'BadJwtFormat'],
    ['not base64url', 'Bearer ab+c.de/f.gh=', 'BadJwtFormat'],
    ['absurdly long', `Bearer ${'a'.repeat(5000)}.${'b'.repeat(5000)}.c`, 'AuthHeaderTooLong'],
    ['header not JSON', `Bearer ${Buffer.from('not json').toString('base64url')}.${b64({})}.c2ln`, 'BadJwt'],
    ['payload not JSON', `Bearer ${b64({ alg: 'ES256K' })}.${Buffer.from('{"iss":').toString('base64url')}.c2ln`, 'BadJwt'],
    ['payload without exp', `Bearer ${b64({ alg: 'ES256K' })}.${b64({ iss: 'did:plc:x', aud: SERVICE_DID })}.c2ln`, 'BadJwt'],
    ['header without alg', `Bearer ${b64({ typ: 'JWT' })}.${b64({ iss: 'did:plc:x', aud: SERVICE_DID, exp })}.c2ln`, 'BadJwt'],
    ['issuer not a DID', `Bearer ${b64({ alg: 'ES256K' })}.${b64({ iss: 'alice', aud: SERVICE_DID, exp, lxm: LXM })}.c2ln`, 'BadJwtIss'],
  ];
  it.each(cases)('%s', async (_name, header, expected) => {
    const { auth } = setup();
    expect(await authFailure(auth.verify(header, LXM), header)).toBe(expected);
  });

  it('accepts the scheme in any case', async () => {
    const { auth } = setup();
    const user = await newUser();
    const header = (await bearer(user.did, user.key)).replace('Bearer', 'bearer');
    expect(await auth.verify(header, LXM)).toBe(user.did);
  });
});

describe('DID resolver: bounds and host policy', () => {
  it('refuses did:web hosts on loopback without fetching', async () => {
    const { resolver, auth } = setup();
    const httpsRequest = vi.spyOn(https, 'request');
    const httpRequest = vi.spyOn(http, 'request');
    for (const did of ['did:web:localhost', 'did:web:127.0.0.1', 'did:web:localhost%3A8443', 'did:web:127.0.0.2']) {
      expect(await resolutionFailure(resolver.getSigningKey(did, false))).toBe('DidHostForbidden');
    }
    const header = await bearer('did:web:localhost', await Secp256k1Keypair.create());
    expect(await authFailure(auth.verify(header, LXM), header)).toBe('DidHostForbidden');
    expect(httpsRequest).not.toHaveBeenCalled();
    expect(httpRequest).not.toHaveBeenCalled();
  });

  it('refuses a host with any non-public address among its DNS answers', async () => {
    const answers: Record<string, string[]> = {
      'mixed.example.com': ['93.184.216.34', '10.1.2.3'],
      'mapped.example.com': ['::ffff:127.0.0.1'],
      'ula.example.com': ['2606:4700::1', 'fd00::1'],
      'metadata.example.com': ['169.254.169.254'],
    };
    const lookup = vi.fn(async (host: string) => (answers[host] ?? []).map((address) => ({ address, family: address.includes(':') ? 6 : 4 })));
    const { resolver } = setup({ lookup });
    const httpsRequest = vi.spyOn(https, 'request');
    for (const host of Object.keys(answers)) {
      expect(await resolutionFailure(resolver.getSigningKey(`did:web:${host}`, false))).toBe('DidHostForbidden');
    }
    expect(await resolutionFailure(resolver.getSigningKey('did:web:nowhere.example.com', false))).toBe('DidUnresolvable');
    expect(lookup).toHaveBeenCalledTimes(5);
    expect(httpsRequest).not.toHaveBeenCalled();
  });

  it('refuses did:web paths and unsupported methods', async () => {
    const { resolver } = setup();
    for (const did of ['did:web:example.com:user:alice', 'did:example:123', 'did:key:zQ3shokFTS3brHcDQrn82RUDfCZESWL1ZdCEJwekUDPQiYBme', 'did:plc:short']) {
      expect(await resolutionFailure(resolver.getSigningKey(did, false))).toBe('DidUnresolvable');
    }
  });

  it('classifies addresses', () => {
    const publicOnes = ['93.184.216.34', '8.8.8.8', '172.32.0.1', '2606:4700:4700::1111', '2a00:1450:4001::1'];
    const others = [
      '127.0.0.1', '10.0.0.1', '172.16.5.4', '172.31.255.255', '192.168.1.1', '169.254.169.254', '0.0.0.0',
      '100.64.0.1', '224.0.0.1', '255.255.255.255', '::', '::1', 'fc00::1', 'fd12:3456::1', 'fe80::1', 'ff02::1',
      '::ffff:127.0.0.1', '::ffff:7f00:1', '::ffff:10.0.0.1', '64:ff9b::a00:1', '2002:a00:1::1', '2001:db8::1', 'not-an-ip',
    ];
    for (const address of publicOnes) expect(isPublicAddress(address), address).toBe(true);
    for (const address of others) expect(isPublicAddress(address), address).toBe(false);
  });

  it('refuses a PLC document over the size limit', async () => {
    // No failure memory here: the same DID is asked again once its document shrinks.
    const { resolver, auth } = setup({ maxDocumentBytes: 64 * 1024, failureTtlMs: 0 });
    const key = await Secp256k1Keypair.create();
    const did = randomPlcDid();
    plc.register(did, key, { kind: 'huge', bytes: 512 * 1024 });
    expect(await resolutionFailure(resolver.getSigningKey(did, false))).toBe('DidDocumentTooLarge');
    const header = await bearer(did, key);
    expect(await authFailure(auth.verify(header, LXM), header)).toBe('DidDocumentTooLarge');
    // Just under the limit is fine.
    plc.register(did, key, { kind: 'huge', bytes: 60 * 1024 });
    expect(await resolver.getSigningKey(did, false)).toBe(key.did());
  });

  it('remembers a DID that failed, so forged issuers cost one fetch, not one per request', async () => {
    const { resolver } = setup();
    const did = randomPlcDid();
    for (let i = 0; i < 5; i++) expect(await resolutionFailure(resolver.getSigningKey(did, false))).toBe('DidNotFound');
    expect(plc.requests(did)).toBe(1);
  });

  it('refuses new DIDs while too many fetches are in flight, and recovers', async () => {
    const { resolver } = setup({ maxConcurrentFetches: 4 });
    const key = await Secp256k1Keypair.create();
    const dids = Array.from({ length: 10 }, () => randomPlcDid());
    for (const did of dids) plc.register(did, key, { kind: 'slow', delayMs: 300 });
    const results = await Promise.all(dids.map((did) => resolver.getSigningKey(did, false).then(() => 'ok', (err: Error) => err.name)));
    expect(results.filter((r) => r === 'ok')).toHaveLength(4);
    expect(results.filter((r) => r === 'DidResolverBusy')).toHaveLength(6);
    // Busy is not remembered against the DID: once the others are done, it resolves.
    const refused = dids[results.indexOf('DidResolverBusy')]!;
    // Through auth, busy is a 503 (retry), not a 401: nothing is known against the token.
    const auth = createServiceAuth({ serviceDid: SERVICE_DID, resolver });
    const token = await bearer(refused, key);
    const slowOnes = Array.from({ length: 4 }, () => randomPlcDid());
    for (const did of slowOnes) plc.register(did, key, { kind: 'slow', delayMs: 300 });
    const crowd = slowOnes.map((did) => resolver.getSigningKey(did, false));
    const busy = await auth.verify(token, LXM).then(
      () => undefined,
      (err: unknown) => err as XRPCError,
    );
    expect(busy).toMatchObject({ statusCode: 503, error: 'DidResolverBusy' });
    await Promise.all(crowd);
    plc.register(refused, key);
    expect(await resolver.getSigningKey(refused, false)).toBe(key.did());
  });

  it.each(['headers', 'body'] as const)('times out a PLC slow to send its %s', async (stage) => {
    const { resolver, auth } = setup({ timeoutMs: 200 });
    const key = await Secp256k1Keypair.create();
    const did = randomPlcDid();
    plc.register(did, key, { kind: 'slow', delayMs: 5000, stage });
    const started = Date.now();
    expect(await resolutionFailure(resolver.getSigningKey(did, false))).toBe('DidResolutionTimeout');
    expect(Date.now() - started).toBeLessThan(2000);
    const header = await bearer(did, key);
    expect(await authFailure(auth.verify(header, LXM), header)).toBe('DidResolutionTimeout');
  });

  it('refuses a document that names another DID', async () => {
    const { resolver } = setup();
    const did = randomPlcDid();
    plc.register(did, atprotoDidDocument(randomPlcDid(), await Secp256k1Keypair.create()));
    expect(await resolutionFailure(resolver.getSigningKey(did, false))).toBe('DidUnresolvable');
  });

  it('keeps serving a stale key when the background refresh fails', async () => {
    const { resolver } = setup({ staleTtlMs: 0 });
    const user = await newUser();
    expect(await resolver.getSigningKey(user.did, false)).toBe(user.key.did());
    plc.register(user.did, user.key, { kind: 'slow', delayMs: 5000 });
    const started = Date.now();
    expect(await resolver.getSigningKey(user.did, false)).toBe(user.key.did());
    expect(Date.now() - started).toBeLessThan(500);
  });
});
