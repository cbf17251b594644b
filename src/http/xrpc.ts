import type { ErrorRequestHandler, Request, RequestHandler } from 'express';
import { InternalServerError, InvalidRequestError, XRPCError } from '@atproto/xrpc-server';
import type { Logger } from '../observability/logger.js';
import { requestIdOf } from './request-id.js';

/** Wraps an async route so a thrown XRPCError becomes its XRPC answer. */
export function xrpcRoute(handler: (req: Request, res: Parameters<RequestHandler>[1]) => Promise<void> | void): RequestHandler {
  return (req, res, next) => {
    Promise.resolve()
      .then(() => handler(req, res))
      .catch(next);
  };
}

/** A query parameter given at most once, as a string. */
export function singleParam(req: Request, name: string, maxLength: number): string | undefined {
  const value = req.query[name];
  if (value === undefined) return undefined;
  if (typeof value !== 'string') throw new InvalidRequestError(`parameter ${name} must be given once, as a string`);
  if (value.length > maxLength) throw new InvalidRequestError(`parameter ${name} is longer than ${maxLength} characters`);
  return value;
}

export function integerParam(req: Request, name: string, min: number, max: number, fallback: number): number {
  const raw = singleParam(req, name, 16);
  if (raw === undefined) return fallback;
  if (!/^\d+$/.test(raw) || Number(raw) < min || Number(raw) > max) {
    throw new InvalidRequestError(`parameter ${name} must be an integer from ${min} to ${max}`);
  }
  return Number(raw);
}

/**
 * XRPC errors as `{error, message}` with their status. Body-parser errors keep their
 * status (413 for a body over the limit, 400 for bad JSON); anything else is a 500
 * that names nothing internal.
 */
export function xrpcErrorHandler(log: Logger): ErrorRequestHandler {
  return (err: unknown, req, res, _next) => {
    if (err instanceof XRPCError) {
      res.status(err.statusCode).json(err.payload);
      return;
    }
    const status = (err as { status?: unknown }).status;
    const type = (err as { type?: unknown }).type;
    if (status === 413) {
      res.status(413).json({ error: 'PayloadTooLarge', message: 'request body is over the limit' });
      return;
    }
    if (status === 400 && typeof type === 'string') {
      res.status(400).json({ error: 'InvalidRequest', message: 'request body is not valid JSON' });
      return;
    }
    // Other client errors from the body parser (415 charset or encoding, 403 verify) keep their status.
    if (typeof status === 'number' && status >= 400 && status < 500 && (err as { expose?: unknown }).expose === true) {
      res.status(status).json({ error: 'InvalidRequest', message: 'request body cannot be read' });
      return;
    }
    log.error({ err, path: req.path, requestId: requestIdOf(res) }, 'request failed');
    res.status(500).json(new InternalServerError('internal error').payload);
  };
}
