/**
 * Which DIDs we resolve and where their documents come from. did:plc comes from the
 * configured PLC directory, trusted wherever it is (a test or private one may well be
 * on loopback); did:web only over HTTPS from a host the address guard lets through.
 */
import type { AddressGuard, ResolvedAddress } from './address-guard.js';
import { DidResolutionError } from './errors.js';

/** Where to GET a DID document, and the checked address to connect to, if it had to be checked. */
export interface DocumentSource {
  url: URL;
  pinned: ResolvedAddress | undefined;
}

const PLC_DID = /^did:plc:[a-z2-7]{24}$/;
/** A did:web host after percent-decoding: a name or IPv4 literal, maybe a port (refused later). */
const WEB_HOST = /^([a-z0-9.-]+)(?::(\d{1,5}))?$/i;

/**
 * Only these two methods: the library would hand a did:key back as its own key, letting
 * anyone sign as it. Checked before anything else, cached failures included.
 */
export function isSupportedDidMethod(did: string): boolean {
  return did.startsWith('did:plc:') || did.startsWith('did:web:');
}

export class DidPolicy {
  private readonly plcUrl: string;

  constructor(
    plcUrl: string,
    private readonly guard: AddressGuard,
  ) {
    this.plcUrl = plcUrl.replace(/\/+$/, '');
  }

  /** Where `did`'s document may be fetched from, or why it may not. */
  async documentSource(did: string): Promise<DocumentSource> {
    if (did.startsWith('did:plc:')) {
      if (!PLC_DID.test(did)) throw new DidResolutionError('DidUnresolvable', did, 'not a valid did:plc');
      return { url: new URL(`${this.plcUrl}/${encodeURIComponent(did)}`), pinned: undefined };
    }
    if (!did.startsWith('did:web:')) throw new DidResolutionError('DidUnresolvable', did, 'only did:plc and did:web issuers are supported');
    const { hostname, port } = parseWebHost(did);
    const pinned = await this.guard.publicAddressOf(did, hostname);
    // atproto allows a did:web port only for localhost, which the guard refuses anyway.
    if (port !== undefined) throw new DidResolutionError('DidUnresolvable', did, 'did:web with a port is not supported');
    return { url: new URL(`https://${hostname}/.well-known/did.json`), pinned };
  }
}

function parseWebHost(did: string): { hostname: string; port: string | undefined } {
  const id = did.slice('did:web:'.length);
  // Further colons are path segments, which atproto does not allow.
  if (id.includes(':')) throw new DidResolutionError('DidUnresolvable', did, 'did:web with a path is not supported');
  let decoded: string;
  try {
    decoded = decodeURIComponent(id);
  } catch {
    throw new DidResolutionError('DidUnresolvable', did, 'not a valid did:web');
  }
  const match = WEB_HOST.exec(decoded);
  if (match === null || match[1] === undefined) throw new DidResolutionError('DidUnresolvable', did, 'not a valid did:web host');
  return { hostname: match[1].toLowerCase(), port: match[2] };
}
