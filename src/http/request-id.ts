import { randomBytes } from 'node:crypto';
import type { RequestHandler, Response } from 'express';

/** Fly's proxy names each request; a request that did not come through it gets an id here. */
const FLY_REQUEST_ID = 'fly-request-id';
const SAFE_ID = /^[A-Za-z0-9_-]{1,64}$/;

/**
 * Gives every request an id, echoed as `x-request-id`, so a log line and the answer a
 * user saw can be matched. Only ids of a safe shape are taken from the request.
 */
export function requestId(): RequestHandler {
  return (req, res, next) => {
    const given = req.headers[FLY_REQUEST_ID];
    const id = typeof given === 'string' && SAFE_ID.test(given) ? given : randomBytes(9).toString('base64url');
    res.locals.requestId = id;
    res.setHeader('x-request-id', id);
    next();
  };
}

/** The id `requestId()` gave this response's request. */
export function requestIdOf(res: Response): string | undefined {
  return typeof res.locals.requestId === 'string' ? res.locals.requestId : undefined;
}
