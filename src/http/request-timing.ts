import type { RequestHandler } from 'express';
import type { Histogram } from 'prom-client';

/** Observes how long each request takes, from arrival until its response is finished. */
export function timeRequests(histogram: Histogram): RequestHandler {
  return (_req, res, next) => {
    const end = histogram.startTimer();
    res.once('finish', () => end());
    next();
  };
}
