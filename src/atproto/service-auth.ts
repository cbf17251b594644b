/**
 * Service auth as the Bluesky AppView sends it: `Authorization: Bearer <jwt>`, signed
 * with the requesting user's atproto key, for our service DID and one XRPC method.
 * Every failure is a 401 (AuthRequiredError) whose error name says what was wrong, but
 * one: a resolver too busy to fetch the issuer's DID document (a flood of forged issuers)
 * says nothing of the token, so that is a 503, for the caller to retry. The token itself
 * is never logged nor echoed.
 */
import { AuthRequiredError, XRPCError, verifyJwt } from '@atproto/xrpc-server';
import { ResponseType } from '@atproto/xrpc';
import { DidResolutionError, type SigningKeyResolver } from './did-resolver.js';
import { verifyJwtSignature } from './signature.js';

/** Real service JWTs are under 1 KiB; the cap keeps parsing cheap for garbage. */
export const MAX_AUTHORIZATION_LENGTH = 8 * 1024;
const BEARER = /^Bearer[ ]+(\S+)[ ]*$/i;
const JWT_SHAPE = /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$/;

/**
 * A verified token is remembered for at most this long (and never past its exp): the
 * signature check costs about 1.5 ms of CPU, a lookup nothing. Short, so a key
 * rotation takes effect soon for tokens already seen.
 */
const VERIFIED_TTL_MS = 60_000;
const VERIFIED_MAX_TOKENS = 10_000;

export interface ServiceAuthOptions {
  /** Our DID: tokens must be addressed to it or to its `#bsky_fg` service. */
  serviceDid: string;
  resolver: SigningKeyResolver;
}

export interface ServiceAuth {
  /** The issuer's DID; undefined when there is no Authorization header at all. */
  verify(authorization: string | undefined, lxm: string): Promise<string | undefined>;
}

export function createServiceAuth({ serviceDid, resolver }: ServiceAuthOptions): ServiceAuth {
  const audiences = new Set([serviceDid, `${serviceDid}#bsky_fg`]);

  // verifyJwt calls this, then again with forceRefresh when the signature fails (key rotation).
  const getSigningKey = async (iss: string, forceRefresh: boolean): Promise<string> => {
    // verifyJwt accepts `did#service` issuers; a feed viewer is an account.
    if (iss.includes('#')) throw new AuthRequiredError('jwt issuer must be an account DID', 'BadJwtIss');
    try {
      return await resolver.getSigningKey(iss, forceRefresh);
    } catch (err) {
      if (err instanceof DidResolutionError && err.name === 'DidResolverBusy') {
        throw new XRPCError(ResponseType.NotEnoughResources, `jwt issuer: ${err.message}`, err.name);
      }
      if (err instanceof DidResolutionError) throw new AuthRequiredError(`jwt issuer: ${err.message}`, err.name);
      throw err;
    }
  };

  // verifyJwt refetches the key only when verification answers false, not when it throws,
  // and it throws when the token's alg differs from the cached key's type: a rotation to
  // another key type (K-256 to P-256) would never be picked up. So throwing means false.
  const verifySignature = async (key: string, msg: Uint8Array, sig: Uint8Array, alg: string): Promise<boolean> => {
    try {
      return await verifyJwtSignature(key, msg, sig, alg);
    } catch {
      return false;
    }
  };

  // token → who it proved to be, for which method, until when (insertion order = age).
  const verified = new Map<string, { iss: string; lxm: string; untilMs: number }>();

  return {
    async verify(authorization, lxm) {
      if (authorization === undefined) return undefined;
      const jwt = bearerToken(authorization);
      const known = verified.get(jwt);
      if (known && known.lxm === lxm && known.untilMs > Date.now()) return known.iss;
      // verifyJwt checks one audience. Ask it to check the one the token names when that
      // one is ours (else our DID, so it fails with BadJwtAudience): either way the
      // audience is checked before any DID resolution.
      const aud = audienceOf(jwt);
      const ownDid = aud !== undefined && audiences.has(aud) ? aud : serviceDid;
      try {
        const payload = await verifyJwt(jwt, ownDid, lxm, getSigningKey, verifySignature);
        remember(verified, jwt, { iss: payload.iss, lxm, untilMs: Math.min(payload.exp * 1000, Date.now() + VERIFIED_TTL_MS) });
        return payload.iss;
      } catch (err) {
        if (err instanceof XRPCError) throw err;
        // verifyJwt lets JSON.parse errors escape; their message quotes the token.
        if (err instanceof SyntaxError) throw new AuthRequiredError('poorly formatted jwt', 'BadJwt');
        throw err;
      }
    },
  };
}

function remember<V>(cache: Map<string, V>, key: string, value: V): void {
  cache.delete(key);
  cache.set(key, value);
  if (cache.size > VERIFIED_MAX_TOKENS) cache.delete(cache.keys().next().value!);
}

function bearerToken(authorization: string): string {
  if (authorization.length > MAX_AUTHORIZATION_LENGTH) {
    throw new AuthRequiredError(`authorization header is longer than ${MAX_AUTHORIZATION_LENGTH} characters`, 'AuthHeaderTooLong');
  }
  const token = BEARER.exec(authorization)?.[1];
  if (token === undefined) throw new AuthRequiredError('authorization header must be "Bearer <jwt>"', 'BadAuthScheme');
  if (!JWT_SHAPE.test(token)) throw new AuthRequiredError('bearer token is not a JWT (three base64url parts)', 'BadJwtFormat');
  return token;
}

/** The payload's `aud` if it is readable; verifyJwt reports anything wrong with it. */
function audienceOf(jwt: string): string | undefined {
  try {
    const payload: unknown = JSON.parse(Buffer.from(jwt.split('.')[1] ?? '', 'base64url').toString('utf8'));
    const aud = (payload as { aud?: unknown } | null)?.aud;
    return typeof aud === 'string' ? aud : undefined;
  } catch {
    return undefined;
  }
}
