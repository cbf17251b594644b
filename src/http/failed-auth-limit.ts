import type { Request } from 'express';
import { XRPCError } from '@atproto/xrpc-server';
import { ResponseType } from '@atproto/xrpc';
import type { Counter } from 'prom-client';
import { clientAddress } from './client-address.js';
import type { RateLimiter } from './rate-limit.js';

/** Verifies an Authorization header for a method: the issuer's DID, or undefined without one. */
export type VerifyToken = (authorization: string | undefined, lxm: string) => Promise<string | undefined>;
/** The same for a request, which also says who is asking. */
export type VerifyUser = (req: Request, lxm: string) => Promise<string | undefined>;

export interface FailedAuthLimitOptions {
  verify: VerifyToken;
  /** Per client address: what failed sign-ins it may spend. */
  limiter: RateLimiter;
  trustFlyClientIp: boolean;
  /** Every refused token, by its error name (`FailedAuthLimited` for the 429s). */
  rejections: Counter<'error'>;
}

/**
 * A failed sign-in can cost a DID document fetch (each new random issuer does), and
 * a valid one spends the user's rate-limit token only once it is proven. So an address
 * has a budget of failures, checked before the token is looked at: once it is spent,
 * that address gets 429 until it refills, and its forged tokens cost nothing more.
 * Requests without a token are not counted here (the anonymous limit covers them).
 */
export function limitFailedAuth({ verify, limiter, trustFlyClientIp, rejections }: FailedAuthLimitOptions): VerifyUser {
  return async (req, lxm) => {
    const authorization = req.headers.authorization;
    if (authorization === undefined) return undefined;
    const client = clientAddress(req, trustFlyClientIp);
    try {
      limiter.check(client);
    } catch {
      rejections.inc({ error: 'FailedAuthLimited' });
      throw new XRPCError(ResponseType.RateLimitExceeded, 'too many failed sign-ins from this address, slow down', 'RateLimitExceeded');
    }
    try {
      return await verify(authorization, lxm);
    } catch (err) {
      if (err instanceof XRPCError && err.statusCode === 401) {
        limiter.spend(client);
        rejections.inc({ error: err.error ?? 'AuthRequired' });
      }
      throw err;
    }
  };
}
