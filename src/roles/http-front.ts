import type { Server } from 'node:http';
import type { Express } from 'express';
import { createMetricsApp, listen } from '../http/server.js';
import type { AppContext } from './context.js';

/** In-flight requests get this long to finish on stop. */
const HTTP_DRAIN_MS = 2000;

/** The process's listening servers: the public one and, with METRICS_PORT, the metrics one. */
export class HttpFront {
  private constructor(
    private readonly servers: Server[],
    private readonly fallbackPort: number,
  ) {}

  static async open(ctx: AppContext, app: Express): Promise<HttpFront> {
    const { port, host, metricsPort } = ctx.config;
    const servers = [await listen(app, port, host)];
    if (metricsPort !== undefined) {
      try {
        servers.push(await listen(createMetricsApp(ctx), metricsPort, host));
      } catch (err) {
        await Promise.all(servers.map(drain));
        throw new Error(`listen on METRICS_PORT ${metricsPort}`, { cause: err });
      }
    }
    return new HttpFront(servers, port);
  }

  /** The public port actually bound (PORT=0 picks a free one). */
  port(): number {
    const address = this.servers[0]?.address();
    return typeof address === 'object' && address ? address.port : this.fallbackPort;
  }

  /** No new request; those under way get HTTP_DRAIN_MS, then their connections close. */
  async close(): Promise<void> {
    await Promise.all(this.servers.map(drain));
  }
}

async function drain(server: Server): Promise<void> {
  const closed = new Promise<void>((resolve) => server.close(() => resolve()));
  server.closeIdleConnections();
  const deadline = setTimeout(() => server.closeAllConnections(), HTTP_DRAIN_MS);
  await closed;
  clearTimeout(deadline);
}
