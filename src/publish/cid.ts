import { createHash } from 'node:crypto';

/** Multicodec codes of the two content types atproto addresses by CID. */
export const CODEC_RAW = 0x55;
export const CODEC_DAG_CBOR = 0x71;

const SHA2_256 = 0x12;
const BASE32_ALPHABET = 'abcdefghijklmnopqrstuvwxyz234567';

/**
 * The CIDv1 string (multibase base32, sha2-256) of some bytes under a codec. Blobs are
 * addressed as `raw`: this is the `ref` a PDS gives an uploaded image, computed locally
 * (the dry run shows it; the stand-in PDS answers with it).
 */
export function cidV1(bytes: Uint8Array, codec: number = CODEC_RAW): string {
  const digest = createHash('sha256').update(bytes).digest();
  // Both codecs and the hash code are below 0x80, so each varint is one byte.
  const cid = Uint8Array.from([0x01, codec, SHA2_256, digest.length, ...digest]);
  return `b${base32(cid)}`;
}

/** RFC 4648 base32, lower case, no padding (the multibase `b` encoding). */
function base32(bytes: Uint8Array): string {
  let out = '';
  let buffer = 0;
  let bits = 0;
  for (const byte of bytes) {
    buffer = (buffer << 8) | byte;
    bits += 8;
    while (bits >= 5) {
      out += BASE32_ALPHABET[(buffer >>> (bits - 5)) & 31];
      bits -= 5;
    }
    buffer &= (1 << bits) - 1;
  }
  if (bits > 0) out += BASE32_ALPHABET[(buffer << (5 - bits)) & 31];
  return out;
}
