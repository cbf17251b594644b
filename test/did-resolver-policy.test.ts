import { describe, expect, it, vi } from 'vitest';
import { AddressGuard, type HostLookup } from '../src/atproto/did/address-guard.js';
import { DidPolicy, isSupportedDidMethod } from '../src/atproto/did/policy.js';
import { randomPlcDid } from '../testkit/standins/plc-directory.js';
import { didFailure } from './support/did-failure.js';

/** A DNS that answers from a table (an unknown name does not resolve). */
function fakeDns(answers: Record<string, string[]>) {
  return vi.fn<HostLookup>(async (host) => {
    const addresses = answers[host];
    if (addresses === undefined) throw Object.assign(new Error(`getaddrinfo ENOTFOUND ${host}`), { code: 'ENOTFOUND' });
    return addresses.map((address) => ({ address, family: address.includes(':') ? 6 : 4 }));
  });
}


describe('address guard', () => {
  const did = 'did:web:host.example.com';

  it('takes an IP literal as it is, without DNS, and refuses a private one', async () => {
    const lookup = fakeDns({});
    const guard = new AddressGuard(lookup);
    expect(await guard.publicAddressOf(did, '93.184.216.34')).toEqual({ address: '93.184.216.34', family: 4 });
    expect((await didFailure(guard.publicAddressOf(did, '10.0.0.7'))).name).toBe('DidHostForbidden');
    expect((await didFailure(guard.publicAddressOf(did, '::1'))).name).toBe('DidHostForbidden');
    expect(lookup).not.toHaveBeenCalled();
  });

  it('answers the first address of a name whose addresses are all public', async () => {
    const guard = new AddressGuard(fakeDns({ 'host.example.com': ['2606:4700::1', '93.184.216.34'] }));
    expect(await guard.publicAddressOf(did, 'host.example.com')).toEqual({ address: '2606:4700::1', family: 6 });
  });

  it('refuses a name with one non-public address among public ones, whatever its place', async () => {
    const guard = new AddressGuard(fakeDns({ first: ['127.0.0.1', '93.184.216.34'], last: ['93.184.216.34', '192.168.0.9'] }));
    for (const host of ['first', 'last']) {
      const err = await didFailure(guard.publicAddressOf(did, host));
      expect(err.name, host).toBe('DidHostForbidden');
      expect(err.did).toBe(did);
    }
  });

  it('calls a name that does not resolve, or resolves to nothing, unresolvable', async () => {
    const guard = new AddressGuard(fakeDns({ empty: [] }));
    const missing = await didFailure(guard.publicAddressOf(did, 'missing'));
    expect(missing.name).toBe('DidUnresolvable');
    expect((missing.cause as { code?: string }).code).toBe('ENOTFOUND');
    expect((await didFailure(guard.publicAddressOf(did, 'empty'))).name).toBe('DidUnresolvable');
  });
});

describe('DID policy', () => {
  it('resolves did:plc and did:web only', () => {
    for (const did of ['did:plc:abc', 'did:web:example.com']) expect(isSupportedDidMethod(did), did).toBe(true);
    for (const did of ['did:key:zQ3sh', 'did:example:123', 'did:plcx:abc', 'did:webx:example.com', 'plc:abc', '']) expect(isSupportedDidMethod(did), did).toBe(false);
  });

  it('trusts the PLC directory wherever it is, loopback included, without asking the guard', async () => {
    const lookup = fakeDns({});
    const policy = new DidPolicy('http://127.0.0.1:2582//', new AddressGuard(lookup));
    const did = randomPlcDid();
    expect(await policy.documentSource(did)).toEqual({ url: new URL(`http://127.0.0.1:2582/${encodeURIComponent(did)}`), pinned: undefined });
    expect(lookup).not.toHaveBeenCalled();
  });

  it('refuses a malformed did:plc', async () => {
    const policy = new DidPolicy('http://127.0.0.1:2582', new AddressGuard(fakeDns({})));
    for (const did of ['did:plc:short', 'did:plc:ABCDEFGHIJKLMNOPQRSTUVWX', `${randomPlcDid()}x`]) {
      expect((await didFailure(policy.documentSource(did))).name, did).toBe('DidUnresolvable');
    }
  });

  it('fetches did:web over HTTPS from the lower-cased host, pinned to the address the guard checked', async () => {
    const lookup = fakeDns({ 'feed.example.com': ['93.184.216.34'] });
    const policy = new DidPolicy('http://127.0.0.1:2582', new AddressGuard(lookup));
    expect(await policy.documentSource('did:web:Feed.Example.COM')).toEqual({
      url: new URL('https://feed.example.com/.well-known/did.json'),
      pinned: { address: '93.184.216.34', family: 4 },
    });
    expect(lookup).toHaveBeenCalledWith('feed.example.com');
  });

  it('refuses did:web paths, ports and malformed hosts; a port on a forbidden host is reported as forbidden', async () => {
    const lookup = fakeDns({ 'example.com': ['93.184.216.34'], localhost: ['127.0.0.1'] });
    const policy = new DidPolicy('http://127.0.0.1:2582', new AddressGuard(lookup));
    for (const did of ['did:web:example.com:user:alice', 'did:web:example.com%3A8443', 'did:web:%E0%A4%A', 'did:web:exa_mple.com', 'did:web:']) {
      expect((await didFailure(policy.documentSource(did))).name, did).toBe('DidUnresolvable');
    }
    expect((await didFailure(policy.documentSource('did:web:localhost%3A8443'))).name).toBe('DidHostForbidden');
  });
});
