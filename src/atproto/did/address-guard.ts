/**
 * Which addresses we may fetch a did:web document from: public ones only. Anyone can
 * send us a JWT naming any host, so without this a token could make us request our
 * own loopback, the cloud metadata endpoint or the private network.
 */
import { lookup as dnsLookup } from 'node:dns/promises';
import { BlockList, isIP } from 'node:net';
import { DidResolutionError } from './errors.js';

export interface ResolvedAddress {
  address: string;
  family: number;
}

/** DNS for did:web hosts, every address of the name. */
export type HostLookup = (hostname: string) => Promise<ResolvedAddress[]>;

export const systemLookup: HostLookup = (hostname) => dnsLookup(hostname, { all: true, verbatim: true });

export class AddressGuard {
  constructor(private readonly lookup: HostLookup = systemLookup) {}

  /**
   * The address to connect to for `hostname`. Every address must be public, not just
   * the first: the connection is then pinned to one we checked.
   */
  async publicAddressOf(did: string, hostname: string): Promise<ResolvedAddress> {
    let addresses: ResolvedAddress[];
    if (isIP(hostname) !== 0) {
      addresses = [{ address: hostname, family: isIP(hostname) }];
    } else {
      try {
        addresses = await this.lookup(hostname);
      } catch (err) {
        throw new DidResolutionError('DidUnresolvable', did, `did:web host ${hostname} does not resolve`, { cause: err });
      }
    }
    const first = addresses[0];
    if (first === undefined) throw new DidResolutionError('DidUnresolvable', did, `did:web host ${hostname} has no address`);
    if (!addresses.every((a) => isPublicAddress(a.address))) {
      throw new DidResolutionError('DidHostForbidden', did, `did:web host ${hostname} is not on a public address`);
    }
    return first;
  }
}

// IPv4: everything except the special-purpose ranges (RFC 6890 and friends).
const NON_PUBLIC_V4 = new BlockList();
for (const [net, bits] of [
  ['0.0.0.0', 8], ['10.0.0.0', 8], ['100.64.0.0', 10], ['127.0.0.0', 8], ['169.254.0.0', 16],
  ['172.16.0.0', 12], ['192.0.0.0', 24], ['192.0.2.0', 24], ['192.88.99.0', 24], ['192.168.0.0', 16],
  ['198.18.0.0', 15], ['198.51.100.0', 24], ['203.0.113.0', 24], ['224.0.0.0', 4], ['240.0.0.0', 4],
] as const) NON_PUBLIC_V4.addSubnet(net, bits, 'ipv4');
// IPv6: only global unicast (2000::/3), which leaves out ::, ::1, fc00::/7, fe80::/10,
// multicast and IPv4-mapped addresses; minus tunnels that can embed private IPv4 and docs.
const GLOBAL_V6 = new BlockList();
GLOBAL_V6.addSubnet('2000::', 3, 'ipv6');
const NON_PUBLIC_V6 = new BlockList();
for (const [net, bits] of [['2001::', 23], ['2001:db8::', 32], ['2002::', 16], ['3fff::', 20]] as const) NON_PUBLIC_V6.addSubnet(net, bits, 'ipv6');

/** Whether an address is reachable on the public internet (and so fine for us to fetch from). */
export function isPublicAddress(address: string): boolean {
  try {
    switch (isIP(address)) {
      case 4:
        return !NON_PUBLIC_V4.check(address, 'ipv4');
      case 6:
        return GLOBAL_V6.check(address, 'ipv6') && !NON_PUBLIC_V6.check(address, 'ipv6');
      default:
        return false;
    }
  } catch {
    return false; // e.g. a zone index BlockList will not parse
  }
}
