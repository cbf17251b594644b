import type { Server } from 'node:http';
import express, { type Express } from 'express';
import type { AppContext } from '../context.js';
import type { FeedEngine } from '../ranker/feed-engine.js';
import { healthRoute } from './routes/health.js';
import { metricsRoute } from './routes/metrics.js';

/** The HTTP surface: one router per concern, wired from the context. */
export function createHttpApp(ctx: AppContext, feed: FeedEngine | undefined): Express {
  const app = express();
  app.disable('x-powered-by');
  app.get('/xrpc/_health', healthRoute(ctx, feed));
  app.get('/metrics', metricsRoute(ctx));
  app.use((_req, res) => {
    res.status(404).json({ error: 'NotFound', message: 'no such route' });
  });
  return app;
}

export function listen(app: Express, port: number, host?: string): Promise<Server> {
  return new Promise((resolve, reject) => {
    const server = app.listen(port, host ?? '0.0.0.0', (err?: Error) => (err ? reject(err) : resolve(server)));
  });
}
