import type { RequestHandler } from 'express';
import type { AppContext } from '../../roles/context.js';
import { fileSizes } from '../../store/database.js';
import { shadowWalBytes } from '../../replication/litestream/shadow-wal.js';

/** Prometheus exposition; file sizes are read at scrape time. */
export function metricsRoute(ctx: AppContext): RequestHandler {
  return async (_req, res, next) => {
    try {
      const { dbBytes, walBytes } = fileSizes(ctx.config.dbPath);
      ctx.metrics.dbBytes.set(dbBytes);
      ctx.metrics.walBytes.set(walBytes);
      ctx.metrics.litestreamShadowWalBytes.set(shadowWalBytes(ctx.config.dbPath));
      res.type(ctx.metrics.registry.contentType).send(await ctx.metrics.registry.metrics());
    } catch (err) {
      next(err);
    }
  };
}
