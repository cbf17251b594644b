import type { RequestHandler } from 'express';
import { isValidHandle } from '@atproto/syntax';
import { isDid } from '../../atproto/identifiers.js';
import { type PlaygroundView, renderPlaygroundPage } from '../pages/playground-page.js';
import type { HandleResolver } from '../../atproto/handle-resolver.js';
import type { CurrentFeed } from '../../feed/current-feed.js';
import type { RateLimiter } from '../rate-limit.js';
import { clientAddress } from '../client-address.js';

/** Longer than any DID worth ranking (did:web ones included). */
const MAX_ACTOR_LENGTH = 256;
/** A feed page, with the reasons of each post. */
const EXPLAIN_LIMITS = { posts: 30, colikersPerPost: 3, seedsPerColiker: 3 };

export interface PlaygroundDeps {
  feed: CurrentFeed;
  handles: HandleResolver;
  /** Per client address: each answer ranks, as a first feed page does. */
  limiter: RateLimiter;
  trustFlyClientIp: boolean;
}

/**
 * `GET /playground?actor=<did or handle>`: a page for people showing a user's ranked feed and why
 * each post is there. Every failure is a message on the page with its status.
 */
export function playgroundRoute(deps: PlaygroundDeps): RequestHandler {
  return async (req, res) => {
    const { status, view } = await answer(req.query.actor, clientAddress(req, deps.trustFlyClientIp), deps);
    if (status === 429) res.setHeader('Retry-After', '1');
    if (status === 503) res.setHeader('Retry-After', '5');
    res.setHeader('Cache-Control', 'no-store');
    res.status(status).type('html').send(renderPlaygroundPage(view));
  };
}

async function answer(raw: unknown, client: string, deps: PlaygroundDeps): Promise<{ status: number; view: PlaygroundView }> {
  // 1. The rate limit, before any work.
  try {
    deps.limiter.take(client);
  } catch {
    return { status: 429, view: { actor: '', message: 'Too many requests: wait a second and try again.' } };
  }
  // 2. The input: absent is an empty form; a DID is ranked; a handle is resolved first.
  if (raw === undefined || raw === '') return { status: 200, view: { actor: '' } };
  if (typeof raw !== 'string' || raw.length > MAX_ACTOR_LENGTH) {
    return { status: 400, view: { actor: '', message: 'Give one actor, as a DID or a handle.' } };
  }
  const typed = raw.trim();
  let actor = typed;
  if (!isDid(typed)) {
    if (!isValidHandle(typed)) return { status: 400, view: { actor: typed, message: 'That is neither a DID nor a handle.' } };
    try {
      const did = await deps.handles.resolve(typed);
      if (!did) return { status: 404, view: { actor: typed, message: 'No account has this handle.' } };
      actor = did;
    } catch (err) {
      return { status: 502, view: { actor: typed, message: `The handle could not be resolved now (${(err as Error).message}): try again, or give the DID.` } };
    }
  }
  const feed = deps.feed.get();
  if (!feed?.isReady) return { status: 503, view: { actor, message: 'The feed is still loading: try again in a few seconds.' } };
  const explanation = await feed.explainFor(actor, EXPLAIN_LIMITS);
  if (explanation.kind === 'unknown') return { status: 404, view: { actor, message: 'No likes nor follows of this DID are known.' } };
  if (explanation.kind === 'cold') {
    return { status: 200, view: { actor, message: 'Too few recent likes, and no follows that lead anywhere, for a personal ranking: this user gets the popular list.' } };
  }
  return { status: 200, view: { actor, ranked: { did: actor, source: explanation.source, posts: explanation.posts } } };
}
