import { DidNotFoundError, PoorlyFormattedDidDocumentError } from '@atproto/identity';

export type DidResolutionFailure =
  | 'DidNotFound' // the PLC directory or the host says there is no such DID
  | 'DidUnresolvable' // unsupported method, network error, bad status, bad document, no key
  | 'DidHostForbidden' // did:web host on a loopback, private or otherwise non-public address
  | 'DidDocumentTooLarge'
  | 'DidResolutionTimeout'
  | 'DidResolverBusy'; // too many documents being fetched at once

/** Every failure of getSigningKey; `name` says which, `message` is safe to show the caller. */
export class DidResolutionError extends Error {
  constructor(
    override readonly name: DidResolutionFailure,
    readonly did: string,
    message: string,
    options?: ErrorOptions,
  ) {
    super(message, options);
  }
}

/** Our own errors as they are; the library's (not found, bad document) and anything else mapped to one. */
export function asResolutionError(did: string, err: unknown): DidResolutionError {
  if (err instanceof DidResolutionError) return err;
  if (err instanceof DidNotFoundError) return new DidResolutionError('DidNotFound', did, 'DID not found', { cause: err });
  if (err instanceof PoorlyFormattedDidDocumentError) {
    return new DidResolutionError('DidUnresolvable', did, 'DID document is malformed or names another DID', { cause: err });
  }
  return new DidResolutionError('DidUnresolvable', did, 'DID resolution failed', { cause: err });
}
