import { rmSync } from 'node:fs';
import { afterEach, describe, expect, it } from 'vitest';
import { freePort } from '../testkit/processes/processes.js';
import { configFromEnv } from '../src/config/config.js';
import { createLogger } from '../src/observability/logger.js';
import { FeedService } from '../src/roles/service.js';
import { peerUrls, readMachines } from '../src/observability/status/peers.js';
import { startTestService, testConfig } from '../testkit/processes/service.js';

describe('status page peers', () => {
  const cleanups: Array<() => Promise<void>> = [];
  afterEach(async () => {
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
  });

  it('finds every machine of the Fly app in its private DNS, bounded, and only without STATUS_PEERS', async () => {
    const asked: string[] = [];
    const resolve = async (hostname: string) => {
      asked.push(hostname);
      return Array.from({ length: 25 }, (_, i) => `fdaa:0:1::${(40 - i).toString(16)}`); // newest machine first
    };
    const onFly = configFromEnv({ FLY_APP_NAME: 'foryou', FEEDGEN_PUBLISHER_DID: 'did:plc:publisher', PORT: '8080' });
    const urls = await peerUrls(onFly, resolve);
    expect(asked).toEqual(['foryou.internal']);
    expect(urls).toHaveLength(20);
    expect(urls[0]).toBe('http://[fdaa:0:1::10]:8080'); // sorted: the same machines in the same order at each sample
    expect(new URL('/xrpc/_health', urls[0]).href).toBe('http://[fdaa:0:1::10]:8080/xrpc/_health');

    const listed = configFromEnv({ FLY_APP_NAME: 'foryou', FEEDGEN_PUBLISHER_DID: 'did:plc:publisher', STATUS_PEERS: 'http://a:1' });
    expect(await peerUrls(listed, resolve)).toEqual(['http://a:1']);
    expect(await peerUrls(configFromEnv({}), resolve)).toEqual([]);
    expect(asked).toHaveLength(1);

    // A failed lookup is data on the page, not a failed sample.
    const failing = async () => Promise.reject(new Error('queryAaaa ENOTFOUND foryou.internal'));
    expect(await readMachines(onFly, failing)).toEqual({ peers: [], discoveryError: 'peer discovery: queryAaaa ENOTFOUND foryou.internal' });
  });

  it("lists each peer's health on the primary's page: a replica, itself, and one that is down", async () => {
    // 1. A replica without a bucket: it answers health, never ready.
    const replica = await startTestService(testConfig({ ROLE: 'replica', FLY_REGION: 'syd' }));
    cleanups.push(replica.stop);
    const nowhere = `http://127.0.0.1:${await freePort()}`;

    // 2. The primary lists both, and itself (its port is known only once it listens: a fixed one).
    const port = await freePort();
    const self = `http://127.0.0.1:${port}`;
    const config = testConfig({ PORT: String(port), FLY_REGION: 'iad', STATUS_PEERS: [replica.baseUrl, self, nowhere].join(',') });
    const primary = FeedService.create(config, { log: createLogger('silent'), statusSampleMs: 0 });
    await primary.start();
    cleanups.push(async () => {
      await primary.stop();
      rmSync(config.dataDir, { recursive: true, force: true });
    });

    // 3. Before a sample the section says so; after one, a row per peer.
    expect(await (await fetch(`${self}/`)).text()).toContain('<section id="machines"><h2>Machines</h2>\n<p class="note">Not sampled yet.</p>');
    const reading = await primary.status.sample();
    expect(reading.machines.peers.map((p) => p.reachable)).toEqual([true, true, false]);
    const page = await (await fetch(`${self}/`)).text();
    const rows = (/<section id="machines">[\s\S]*?<\/section>/.exec(page)?.[0] ?? '').split('\n');
    const rowOf = (url: string) => rows.find((r) => r.startsWith(`<tr><td>${url}</td>`));
    expect(rowOf(replica.baseUrl)).toBe(`<tr><td>${replica.baseUrl}</td><td>syd</td><td>replica</td><td>no</td><td>—</td></tr>`);
    expect(rowOf(self)).toMatch(new RegExp(`^<tr><td>${self}</td><td>iad</td><td>primary</td><td>(yes|no)</td><td>0\\.0 ms</td></tr>$`));
    expect(rowOf(nowhere)).toMatch(new RegExp(`^<tr><td>${nowhere}</td><td colspan="4" title="[^"]+">unreachable</td></tr>$`));
  });

  it('says when there are no peers', async () => {
    const { service, baseUrl, stop } = await startTestService(testConfig());
    cleanups.push(stop);
    await service.status.sample();
    expect(await (await fetch(`${baseUrl}/`)).text()).toContain('No peers: set STATUS_PEERS, or run on Fly.');
  });
});
