import { expect } from 'vitest';
import { DidResolutionError } from '../../src/atproto/did-resolver.js';

/** The DidResolutionError that `promise` rejects with; fails the test if it resolves or rejects otherwise. */
export async function didFailure(promise: Promise<unknown>): Promise<DidResolutionError> {
  const err = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(DidResolutionError);
  return err as DidResolutionError;
}
