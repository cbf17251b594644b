import { Rng } from './dataset/random.js';

/** Uniform floats in [0, 1) from the project's seeded generator, so a failing case can be repeated. */
export function seeded(seed: number): () => number {
  const rng = new Rng(seed);
  return () => rng.float();
}
