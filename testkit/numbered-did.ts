const BASE32 = 'abcdefghijklmnopqrstuvwxyz234567';

/** A valid did:plc for actor number i: the same number gives the same DID. */
export function numberedDid(i: number): string {
  let s = '';
  for (let n = i; s.length < 24; n = Math.floor(n / 32)) s = BASE32[n % 32]! + s;
  return `did:plc:${s}`;
}
