import express, { type RequestHandler } from 'express';
import { AuthRequiredError, InvalidRequestError } from '@atproto/xrpc-server';
import type { Interaction } from '../../ingest/writer/event-writer.js';
import { INTERACTION_EVENTS, type InteractionEvent } from '../../store/schema.js';
import { WriteFailedError } from '../../ingest/writer/writer-thread.js';
import { checkPostUri, isAtUri } from '../../atproto/identifiers.js';
import type { RateLimiter } from '../rate-limit.js';
import { unavailable } from '../replay-to-primary.js';
import { xrpcRoute } from '../xrpc.js';
import type { VerifyUser } from '../failed-auth-limit.js';

export const SEND_INTERACTIONS = 'app.bsky.feed.sendInteractions';
/** Bodies Fly's proxy can replay are under 1 MB; ours stay well below. */
export const MAX_BODY_BYTES = 256 * 1024;
export const MAX_INTERACTIONS_PER_CALL = 100;
const KNOWN_EVENTS = new Set<string>(INTERACTION_EVENTS);

export interface SendInteractionsDeps {
  verifyUser: VerifyUser;
  limiter: RateLimiter;
  /** Stores on the primary; undefined where this node cannot write. */
  record: ((actorDid: string, interactions: Interaction[]) => Promise<number>) | undefined;
}

/**
 * `POST /xrpc/app.bsky.feed.sendInteractions`: what the user did with the items we
 * served (seen, show less, show more, ...). Service auth is required: the JWT's
 * issuer is the user the interactions belong to. It is checked before the body is
 * read, so a caller without a valid JWT costs no JSON parse.
 */
export function sendInteractionsRoutes(deps: SendInteractionsDeps): RequestHandler[] {
  const authenticate: RequestHandler = (req, res, next) => {
    deps
      .verifyUser(req, SEND_INTERACTIONS)
      .then((userDid) => {
        if (userDid === undefined) throw new AuthRequiredError('sendInteractions needs a service JWT', 'AuthMissing');
        deps.limiter.take(userDid);
        res.locals.userDid = userDid;
        next();
      })
      .catch(next);
  };
  return [
    authenticate,
    express.json({ limit: MAX_BODY_BYTES, type: () => true }),
    xrpcRoute(async (req, res) => {
      const userDid = res.locals.userDid as string;
      const interactions = parseInteractions(req.body);
      // Replicas replay writes before this route; a primary without its writer cannot store.
      if (!deps.record) throw unavailable('NotPrimary', 'this machine does not store interactions');
      if (interactions.length > 0) await storeOrUnavailable(deps.record, userDid, interactions);
      res.json({});
    }),
  ];
}

/** A failed write (full disk, writer stopping) is a 503 to retry, not a 500. */
async function storeOrUnavailable(record: NonNullable<SendInteractionsDeps['record']>, userDid: string, interactions: Interaction[]) {
  try {
    await record(userDid, interactions);
  } catch (err) {
    if (err instanceof WriteFailedError) throw unavailable('WriteUnavailable', `the interactions could not be stored now (${err.code ?? 'write failed'}); try again`);
    throw err;
  }
}

/** Checks the body against the lexicon; keeps the known events, drops the rest. */
export function parseInteractions(body: unknown): Interaction[] {
  if (!isObject(body)) throw new InvalidRequestError('body must be a JSON object');
  if (body.feed !== undefined && (typeof body.feed !== 'string' || !isAtUri(body.feed))) {
    throw new InvalidRequestError('feed must be an AT-URI');
  }
  const list = body.interactions;
  if (!Array.isArray(list)) throw new InvalidRequestError('interactions must be an array');
  if (list.length > MAX_INTERACTIONS_PER_CALL) {
    throw new InvalidRequestError(`at most ${MAX_INTERACTIONS_PER_CALL} interactions per call`);
  }
  const kept: Interaction[] = [];
  for (const [index, raw] of list.entries()) {
    if (!isObject(raw)) throw new InvalidRequestError(`interactions[${index}] must be an object`);
    const { item, event, feedContext, reqId } = raw;
    if (item !== undefined && (typeof item !== 'string' || !isAtUri(item))) {
      throw new InvalidRequestError(`interactions[${index}].item must be an AT-URI`);
    }
    if (event !== undefined && typeof event !== 'string') throw new InvalidRequestError(`interactions[${index}].event must be a string`);
    if (feedContext !== undefined && (typeof feedContext !== 'string' || feedContext.length > 2000)) {
      throw new InvalidRequestError(`interactions[${index}].feedContext must be a string of at most 2000 characters`);
    }
    if (reqId !== undefined && (typeof reqId !== 'string' || reqId.length > 100)) {
      throw new InvalidRequestError(`interactions[${index}].reqId must be a string of at most 100 characters`);
    }
    // Event names are an open set: unknown ones are valid but mean nothing to us.
    if (event === undefined || !KNOWN_EVENTS.has(event)) continue;
    kept.push({
      event: event as InteractionEvent,
      postUri: typeof item === 'string' && checkPostUri(item) === undefined ? item : undefined,
      reqId: reqId as string | undefined,
      feedContext: feedContext as string | undefined,
    });
  }
  return kept;
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
