import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { configFromEnv, DEFAULT_APPVIEW_URL, DEFAULT_JETSTREAM_URLS } from '../src/config/config.js';
import { ConfigError } from '../src/config/env.js';

describe('configFromEnv', () => {
  it('runs on its embedded defaults with an empty environment', () => {
    const config = configFromEnv({});
    expect(config.role).toBe('primary');
    expect(config.port).toBe(3000);
    expect(config.dbPath).toBe(path.resolve('data/feed.db'));
    expect(config.ingest.jetstreamUrls).toEqual(DEFAULT_JETSTREAM_URLS);
    expect(config.retention.days).toBe(90);
  });

  it('is a replica on Fly when its region is not the primary region, unless ROLE says otherwise', () => {
    expect(configFromEnv({ FLY_REGION: 'syd', PRIMARY_REGION: 'iad' }).role).toBe('replica');
    expect(configFromEnv({ FLY_REGION: 'iad', PRIMARY_REGION: 'iad' }).role).toBe('primary');
    expect(configFromEnv({ FLY_REGION: 'syd', PRIMARY_REGION: 'iad', ROLE: 'primary' }).role).toBe('primary');
  });

  it('under Litestream, defaults the database for it; an explicit value still wins', () => {
    const alone = configFromEnv({});
    expect([alone.db.walAutocheckpointPages, alone.db.busyTimeoutMs, alone.ingest.writerPauseMs]).toEqual([10_000, 5000, 5]);
    const under = configFromEnv({ UNDER_LITESTREAM: '1' });
    expect(under.underLitestream).toBe(true);
    expect([under.db.walAutocheckpointPages, under.db.busyTimeoutMs, under.ingest.writerPauseMs]).toEqual([0, 30_000, 50]);
    const set = configFromEnv({ UNDER_LITESTREAM: '1', SQLITE_BUSY_TIMEOUT_MS: '1000', INGEST_WRITER_PAUSE_MS: '7' });
    expect([set.db.busyTimeoutMs, set.ingest.writerPauseMs]).toEqual([1000, 7]);
    expect(() => configFromEnv({ UNDER_LITESTREAM: 'yes' })).toThrow(/UNDER_LITESTREAM="yes" must be one of: 0, 1/);
    expect(() => configFromEnv({ UNDER_LITESTREAM: '1', SQLITE_WAL_AUTOCHECKPOINT: '1000' })).toThrow(/SQLITE_WAL_AUTOCHECKPOINT must be 0 under Litestream/);
    expect(configFromEnv({ SQLITE_WAL_AUTOCHECKPOINT: '1000' }).db.walAutocheckpointPages).toBe(1000);
  });

  it('requires the publisher DID on Fly, and only there', () => {
    expect(() => configFromEnv({ FLY_APP_NAME: 'feed' })).toThrow(/FEEDGEN_PUBLISHER_DID is required on Fly/);
    expect(configFromEnv({ FLY_APP_NAME: 'feed', FEEDGEN_PUBLISHER_DID: 'did:plc:abc' }).feedgen.publisherDid).toBe('did:plc:abc');
    expect(configFromEnv({ FEEDGEN_HOSTNAME: 'feed.example.com' }).feedgen.publisherDid).toBe('did:web:feed.example.com');
    // The hostname (and with it the service DID, the JWTs' audience) follows the app on Fly.
    const onFly = configFromEnv({ FLY_APP_NAME: 'feed', FEEDGEN_PUBLISHER_DID: 'did:plc:abc' }).feedgen;
    expect([onFly.hostname, onFly.serviceDid]).toEqual(['feed.fly.dev', 'did:web:feed.fly.dev']);
  });

  it('binds :: by default and serves /metrics on the public port unless METRICS_PORT is set', () => {
    expect(configFromEnv({}).host).toBe('::');
    expect(configFromEnv({}).metricsPort).toBeUndefined();
    expect(configFromEnv({ METRICS_PORT: '9091', HOST: '127.0.0.1' })).toMatchObject({ metricsPort: 9091, host: '127.0.0.1' });
    expect(() => configFromEnv({ METRICS_PORT: '0' })).toThrow(/METRICS_PORT=0 is out of range/);
    expect(() => configFromEnv({ METRICS_PORT: '8080', PORT: '8080' })).toThrow(/METRICS_PORT=8080 is PORT too/);
  });

  it('splits a comma-separated list of Jetstream hosts', () => {
    const config = configFromEnv({ JETSTREAM_URL: ' ws://a:1/subscribe , wss://b/subscribe,' });
    expect(config.ingest.jetstreamUrls).toEqual(['ws://a:1/subscribe', 'wss://b/subscribe']);
  });

  it('reads the status page peers as http(s) URLs, at most 20', () => {
    expect(configFromEnv({}).statusPeers).toBeUndefined();
    expect(configFromEnv({ STATUS_PEERS: ' http://a:3000 , https://b/,' }).statusPeers).toEqual(['http://a:3000', 'https://b/']);
    expect(() => configFromEnv({ STATUS_PEERS: 'ws://a' })).toThrow(/STATUS_PEERS must be an http\(s\) URL/);
    expect(() => configFromEnv({ STATUS_PEERS: 'http://a,nope' })).toThrow(/STATUS_PEERS="nope" is not a URL/);
    const many = Array.from({ length: 21 }, (_, i) => `http://peer${i}`).join(',');
    expect(() => configFromEnv({ STATUS_PEERS: many })).toThrow(/STATUS_PEERS lists 21 URLs, more than 20/);
  });

  it('asks the public AppView for follows by default; off turns them off; bad values are refused', () => {
    expect(configFromEnv({}).feed.follows).toEqual({
      appviewUrl: DEFAULT_APPVIEW_URL,
      timeoutMs: 2000,
      maxFollows: 200,
      cacheUsers: 2000,
      ttlMs: 1_800_000,
      failureTtlMs: 60_000,
    });
    expect(configFromEnv({ FOLLOWS_APPVIEW_URL: 'off' }).feed.follows.appviewUrl).toBeUndefined();
    expect(configFromEnv({ FOLLOWS_APPVIEW_URL: 'http://127.0.0.1:9000', FOLLOWS_TTL_S: '60' }).feed.follows).toMatchObject({ appviewUrl: 'http://127.0.0.1:9000', ttlMs: 60_000 });
    expect(() => configFromEnv({ FOLLOWS_APPVIEW_URL: 'ftp://appview' })).toThrow(/FOLLOWS_APPVIEW_URL must be an http\(s\) URL/);
    expect(() => configFromEnv({ FOLLOWS_TIMEOUT_MS: '10' })).toThrow(/FOLLOWS_TIMEOUT_MS=10 is out of range/);
    expect(() => configFromEnv({ FOLLOWS_MAX: '0' })).toThrow(/FOLLOWS_MAX=0 is out of range/);
  });

  it('reports every bad value at once', () => {
    let error: unknown;
    try {
      configFromEnv({
        PORT: '70000',
        INGEST_BATCH_SIZE: 'many',
        RETENTION_DAYS: '0',
        JETSTREAM_URL: 'http://example.com',
        ROLE: 'leader',
        JETSTREAM_RECONNECT_MIN_MS: '9000',
        JETSTREAM_RECONNECT_MAX_MS: '100',
      });
    } catch (err) {
      error = err;
    }
    expect(error).toBeInstanceOf(ConfigError);
    const problems = (error as ConfigError).problems.join('\n');
    for (const name of ['PORT', 'INGEST_BATCH_SIZE', 'RETENTION_DAYS', 'JETSTREAM_URL', 'ROLE', 'JETSTREAM_RECONNECT_MIN_MS']) {
      expect(problems).toContain(name);
    }
  });

  it('treats blank values as unset', () => {
    expect(configFromEnv({ PORT: '  ', LOG_LEVEL: '' }).port).toBe(3000);
  });
});
