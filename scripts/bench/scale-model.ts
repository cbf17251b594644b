/**
 * bench:scale's growth model: each figure measured at the end of each simulated day is
 * fitted as a straight line in the likes held, y = a + b · likes (least squares), and
 * projected to the real firehose's window of 7, 30 and 90 days. A fixed cost (a) and a
 * cost per like (b) is what a size, a load time or a scan costs; a slope that comes out
 * below zero (noise over a figure that does not grow) is taken as flat, at the mean.
 * With a few days measured the slope is rough: the table prints a and b so a reader
 * sees what each projection assumes.
 */

/** The real stream's likes a day: ~330 likes/s (the capture in testkit/fixtures/jetstream). */
export const REAL_LIKES_PER_DAY = 28_500_000;
export const PROJECTED_DAYS = [7, 30, 90] as const;

export interface LineFit {
  a: number;
  b: number;
}

export function fitLine(xs: readonly number[], ys: readonly number[]): LineFit {
  const n = Math.min(xs.length, ys.length);
  if (n === 0) return { a: 0, b: 0 };
  const mean = (v: readonly number[]) => v.slice(0, n).reduce((s, x) => s + x, 0) / n;
  const [mx, my] = [mean(xs), mean(ys)];
  let sxx = 0;
  let sxy = 0;
  for (let i = 0; i < n; i++) {
    sxx += (xs[i]! - mx) ** 2;
    sxy += (xs[i]! - mx) * (ys[i]! - my);
  }
  const b = sxx > 0 ? sxy / sxx : 0;
  return b > 0 ? { a: my - b * mx, b } : { a: my, b: 0 };
}

export const project = (fit: LineFit, x: number): number => Math.max(0, fit.a + fit.b * x);
