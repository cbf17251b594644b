import { randomBytes } from 'node:crypto';
import { type Keypair, P256Keypair, Secp256k1Keypair } from '@atproto/crypto';
import { cryptoVerifySignatureWithKey } from '@atproto/xrpc-server';
import { describe, expect, it } from 'vitest';
import { verifyJwtSignature } from '../src/atproto/signature.js';

const CURVE_ORDER = {
  ES256K: BigInt('0xfffffffffffffffffffffffffffffffebaaedce6af48a03bbfd25e8cd0364141'),
  ES256: BigInt('0xffffffff00000000ffffffffffffffffbce6faada7179e84f3b9cac2fc632551'),
};

/** The same signature with s replaced by n - s: valid, and accepted by verifyJwt's own check. */
function highS(sig: Uint8Array, alg: 'ES256K' | 'ES256'): Uint8Array {
  const s = BigInt(`0x${Buffer.from(sig.subarray(32)).toString('hex')}`);
  const flipped = (CURVE_ORDER[alg] - s).toString(16).padStart(64, '0');
  return Buffer.concat([Buffer.from(sig.subarray(0, 32)), Buffer.from(flipped, 'hex')]);
}

describe('native JWT signature check', () => {
  const cases: Array<[string, () => Promise<Keypair>, 'ES256K' | 'ES256']> = [
    ['K-256', () => Secp256k1Keypair.create(), 'ES256K'],
    ['P-256', () => P256Keypair.create(), 'ES256'],
  ];

  for (const [name, create, alg] of cases) {
    it(`agrees with the library on ${name} signatures: valid, tampered, high-S, other key, other alg`, async () => {
      const key = await create();
      const other = await create();
      for (let round = 0; round < 20; round++) {
        const msg = randomBytes(40 + round);
        const sig = await key.sign(msg);
        const tampered = Buffer.from(sig);
        tampered[round % 64]! ^= 1;
        const variants: Array<[Uint8Array, Uint8Array, string, string]> = [
          [msg, sig, key.did(), alg],
          [msg, tampered, key.did(), alg],
          [msg, highS(sig, alg), key.did(), alg],
          [randomBytes(8), sig, key.did(), alg],
          [msg, sig, other.did(), alg],
        ];
        for (const [m, s, didKey, a] of variants) {
          expect(await verifyJwtSignature(didKey, m, s, a)).toBe(await cryptoVerifySignatureWithKey(didKey, m, s, a));
        }
      }
      const msg = randomBytes(32);
      expect(await verifyJwtSignature(key.did(), msg, await key.sign(msg), alg === 'ES256K' ? 'ES256' : 'ES256K')).toBe(false);
    });
  }
});
