import { Secp256k1Keypair } from '@atproto/crypto';
import { createServiceJwt } from '@atproto/xrpc-server';
import type { PlcDirectory } from '../../testkit/standins/plc-directory.js';

const TOKEN_LIFETIME_S = 3600;

/** A user whose DID document, with a fresh signing key, is at the PLC stand-in. */
export interface DemoUser {
  did: string;
  /** A service JWT for the method, valid one hour, as the AppView would send. */
  token(lxm: string): Promise<string>;
}

export async function registerDemoUser(plc: PlcDirectory, did: string, serviceDid: string): Promise<DemoUser> {
  const keypair = await Secp256k1Keypair.create();
  plc.register(did, keypair);
  return {
    did,
    token: (lxm) => createServiceJwt({ iss: did, aud: serviceDid, lxm, keypair, exp: Math.floor(Date.now() / 1000) + TOKEN_LIFETIME_S }),
  };
}
