import { Secp256k1Keypair } from '@atproto/crypto';
import { createServiceJwt } from '@atproto/xrpc-server';
import { DidResolutionError, type SigningKeyResolver } from '../../src/atproto/did-resolver.js';

/**
 * Signing keys held in memory: for tests of what comes after authentication, where a PLC
 * directory on loopback would only be in the way. Unknown DIDs fail as the real resolver
 * does for a DID with no document.
 */
export class StaticDidResolver implements SigningKeyResolver {
  private readonly keys = new Map<string, Secp256k1Keypair>();

  /** A new key for `did`; returns `Bearer <service JWT>` makers for it. */
  async addUser(did: string, serviceDid: string): Promise<{ bearer: (lxm: string) => Promise<string> }> {
    const key = await Secp256k1Keypair.create();
    this.keys.set(did, key);
    return { bearer: async (lxm) => `Bearer ${await createServiceJwt({ iss: did, aud: serviceDid, lxm, keypair: key })}` };
  }

  async getSigningKey(did: string): Promise<string> {
    const key = this.keys.get(did);
    if (!key) throw new DidResolutionError('DidNotFound', did, 'DID not found');
    return key.did();
  }
}
