import type { RequestHandler } from 'express';
import type { AppContext } from '../../context.js';

/** Liveness: answers while the process serves, with what it is. */
export function healthRoute(ctx: AppContext): RequestHandler {
  return (_req, res) => {
    res.json({ version: ctx.version, role: ctx.config.role, region: ctx.config.region ?? null });
  };
}
