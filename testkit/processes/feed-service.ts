import { randomBytes } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { Secp256k1Keypair, type Keypair } from '@atproto/crypto';
import { type LexiconDoc, Lexicons } from '@atproto/lexicon';
import { createServiceJwt } from '@atproto/xrpc-server';
import type { Config } from '../../src/config/config.js';
import { openReader } from '../../src/store/database.js';
import { createDatasetStats, type DatasetOptions, type DatasetStats, generateDataset } from '../dataset/generator.js';
import { type JetstreamReplayServer, startJetstreamReplay } from '../standins/jetstream-server.js';
import { MemoryEventSource } from '../standins/memory-event-source.js';
import { type PlcDirectory, randomPlcDid, startPlcDirectory } from '../standins/plc-directory.js';
import { FIXTURES_DIR } from '../fixtures.js';
import { metricValue } from '../metrics/prometheus.js';
import { waitFor } from '../polling/wait-for.js';
import { waitHealthy } from './health.js';
import { startTestService, testConfig } from './service.js';

export const PUBLISHER_DID = 'did:plc:publisherxxxxxxxxxxxxxxx';
export const FEED_HOSTNAME = 'feed.example.com';
export const SERVICE_DID = `did:web:${FEED_HOSTNAME}`;
export const FEED_URI = `at://${PUBLISHER_DID}/app.bsky.feed.generator/for-you`;

/** Every lexicon document under testkit/fixtures/lexicons, loaded into one Lexicons. */
export function fixtureLexicons(): Lexicons {
  const root = path.join(FIXTURES_DIR, 'lexicons');
  const docs: LexiconDoc[] = [];
  const walk = (dir: string) => {
    for (const entry of readdirSync(dir, { withFileTypes: true })) {
      const full = path.join(dir, entry.name);
      if (entry.isDirectory()) walk(full);
      else if (entry.name.endsWith('.json')) docs.push(JSON.parse(readFileSync(full, 'utf8')) as LexiconDoc);
    }
  };
  walk(root);
  return new Lexicons(docs);
}

/** A user whose DID document (with its signing key) is registered at the PLC stand-in. */
export interface SignedUser {
  did: string;
  key: Keypair;
  /** `Bearer <service JWT>` for the method, with the service DID (or another) as audience. */
  bearer(lxm: string | null, aud?: string): Promise<string>;
}

export async function registerUser(plc: PlcDirectory, did: string = randomPlcDid()): Promise<SignedUser> {
  const key = await Secp256k1Keypair.create();
  plc.register(did, key);
  return {
    did,
    key,
    bearer: async (lxm, aud = SERVICE_DID) => `Bearer ${await createServiceJwt({ iss: did, aud, lxm, keypair: key })}`,
  };
}

/**
 * `Bearer <forged service JWT>`: an issuer nobody registered (a new one each call unless
 * given) and a signature of random bytes. It costs the service a DID fetch, the sender nothing.
 */
export function forgedBearer(lxm: string, iss: string = randomPlcDid()): string {
  const part = (value: object) => Buffer.from(JSON.stringify(value)).toString('base64url');
  const payload = { iss, aud: SERVICE_DID, lxm, exp: Math.floor(Date.now() / 1000) + 60 };
  return `Bearer ${part({ alg: 'ES256K', typ: 'JWT' })}.${part(payload)}.${randomBytes(64).toString('base64url')}`;
}

/** The feed's identity, and the PLC stand-in its users' keys resolve through: what every service under test here is given. */
export function feedIdentityEnv(plc: Pick<PlcDirectory, 'url'>): Record<string, string> {
  return { FEEDGEN_HOSTNAME: FEED_HOSTNAME, FEEDGEN_PUBLISHER_DID: PUBLISHER_DID, PLC_URL: plc.url };
}

/** What a service that ranks a generated dataset is fed: the stream on the Jetstream replay stand-in, and the PLC stand-in. */
export interface DatasetInputs {
  lines: string[];
  jetstream: JetstreamReplayServer;
  plc: PlcDirectory;
  /** JETSTREAM_URL, the feed's identity, and graph timings quick enough for a test. */
  env: Record<string, string>;
  close(): Promise<void>;
}

export async function startDatasetInputs(dataset: DatasetOptions, stats?: DatasetStats): Promise<DatasetInputs> {
  const lines = [...generateDataset(dataset, stats)];
  const jetstream = await startJetstreamReplay({ lines });
  const plc = await startPlcDirectory();
  const env = { JETSTREAM_URL: `${jetstream.url}/subscribe`, ...quickFeedEnv(plc) };
  const close = async () => {
    await jetstream.close();
    await plc.close();
  };
  return { lines, jetstream, plc, env, close };
}

export interface DatasetService {
  svc: Awaited<ReturnType<typeof startTestService>>;
  config: Config;
  plc: PlcDirectory;
  stats: DatasetStats;
  /** The DID of the user with the most likes in the dataset. */
  activeUser: string;
  stop(): Promise<void>;
}

/** The feed's identity, and graph timings quick enough for a test. */
function quickFeedEnv(plc: Pick<PlcDirectory, 'url'>): Record<string, string> {
  return {
    ...feedIdentityEnv(plc),
    GRAPH_POLL_MS: '50',
    // The popular list is computed in the background; started before the ingest, the service's
    // first list covers only the few likes it had then, until the next refresh.
    POPULAR_REFRESH_MS: '300',
  };
}

/**
 * A service in this process fed a generated dataset, with a PLC stand-in for service auth;
 * resolves once every like is stored, the like graph has read them all, and health says
 * ready. The tests that use it are about the feed, so the stream comes through the
 * context's event source (in memory), not over a WebSocket: ingest has tests of its own.
 */
export async function startDatasetService(opts: { seed: number; likes: number; env?: Record<string, string> }): Promise<DatasetService> {
  const stats = createDatasetStats();
  const lines = [...generateDataset({ seed: opts.seed, likes: opts.likes }, stats)];
  const plc = await startPlcDirectory();
  // Never dialled: the event source below replaces the Jetstream client.
  const config = testConfig({ JETSTREAM_URL: 'ws://127.0.0.1:1/subscribe', ...quickFeedEnv(plc), ...opts.env });
  const svc = await startTestService(config, { overrides: { eventSource: new MemoryEventSource(lines) } });
  const stop = async () => {
    await svc.stop();
    await plc.close();
  };
  try {
    const reader = openReader(config.dbPath, { busyTimeoutMs: 1000 });
    try {
      const count = (sql: string) => reader.prepare<[], { n: number }>(sql).get()!.n;
      await waitFor(() => (count('SELECT count(*) AS n FROM likes') === stats.counts.like ? true : undefined), 60_000, 'every like ingested');
      const live = count('SELECT count(*) AS n FROM likes WHERE deleted = 0');
      await waitFor(
        async () => (metricValue(await (await fetch(`${svc.baseUrl}/metrics`)).text(), 'feedgen_graph_likes') === live ? true : undefined),
        20_000,
        'like graph caught up',
      );
      await waitHealthy(svc.baseUrl, 20_000, 'health ready');
      // A popular list refreshed over the whole graph (read in process: HTTP would spend rate-limit tokens).
      const ranker = svc.service.feed!.ranker;
      await waitFor(
        () => (ranker.skeleton({ userDid: undefined, limit: 100, cursor: undefined }).feed.length === 100 ? true : undefined),
        10_000,
        'a full popular list',
      );
      const activeUser = reader
        .prepare<[], { did: string }>(
          'SELECT a.did FROM likes l JOIN actors a ON a.id = l.actor_id WHERE l.deleted = 0 GROUP BY l.actor_id ORDER BY count(*) DESC LIMIT 1',
        )
        .get()!.did;
      return { svc, config, plc, stats, activeUser, stop };
    } finally {
      reader.close();
    }
  } catch (err) {
    await stop();
    throw err;
  }
}

/** The author DID of a post AT-URI. */
export function authorOf(postUri: string): string {
  return postUri.slice('at://'.length).split('/')[0]!;
}
