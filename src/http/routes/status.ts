import type { RequestHandler } from 'express';
import type { AppContext } from '../../roles/context.js';
import { renderStatusPage } from '../pages/status-page.js';
import { SAMPLE_INTERVAL_MS, type StatusSampler } from '../../observability/status/sampler.js';

/** `GET /`: a page for people, from the sampler's last reading (it never samples itself). */
export function statusRoute(ctx: AppContext, sampler: StatusSampler): RequestHandler {
  const { role, region } = ctx.config;
  return (_req, res) => {
    const page = renderStatusPage({
      role,
      region,
      version: ctx.version,
      reading: sampler.reading(),
      points: (name) => sampler.points(name),
      now: ctx.clock(),
      refreshSeconds: Math.round((sampler.intervalMs || SAMPLE_INTERVAL_MS) / 1000),
    });
    res.setHeader('Cache-Control', 'no-store');
    res.type('html').send(page);
  };
}
