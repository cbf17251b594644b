import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { lexicons } from '@atproto/api';
import { jsonToLex, type LexiconDoc, Lexicons } from '@atproto/lexicon';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cidV1 } from '../src/publish/cid.js';
import { type PdsCall, type StandinPds, startStandinPds } from '../testkit/standins/pds.js';
import { FIXTURES_DIR } from '../testkit/fixtures.js';

const SCRIPT = fileURLToPath(new URL('../src/bin/publish-feed.ts', import.meta.url));
const HANDLE = 'feedmaker.test';
const DID = 'did:plc:feedmakertestaccount0';
const PASSWORD = 'abcd-efgh-ijkl-mnop';
const WRONG_PASSWORD = 'wxyz-wxyz-wxyz-wxyz';
const SERVICE_DID = 'did:web:feed.example.com';
// A 1×1 PNG.
const PNG = Buffer.from(
  'iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg==',
  'base64',
);

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** The real script as its own process, with only the environment given here. */
function runScript(args: string[], env: Record<string, string> = {}): Promise<Run> {
  const baseEnv = Object.fromEntries(
    Object.entries(process.env).filter(([name]) => !name.startsWith('BSKY_') && !name.startsWith('FEEDGEN_')),
  );
  const child = spawn(process.execPath, ['--import', 'tsx', SCRIPT, ...args], {
    env: { ...baseEnv, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const timer = setTimeout(() => child.kill('SIGKILL'), 30_000);
  return new Promise((resolve) =>
    child.once('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    }),
  );
}

/** The lexicon document in testkit/fixtures (refs normalised by Lexicons, like the built-in one). */
function fixtureLexicons(): Lexicons {
  const doc = JSON.parse(readFileSync(`${FIXTURES_DIR}lexicons/app/bsky/feed/generator.json`, 'utf8')) as LexiconDoc;
  return new Lexicons([doc]);
}

function putRecordBodies(calls: PdsCall[]): Array<Record<string, any>> {
  return calls.filter((c) => c.nsid === 'com.atproto.repo.putRecord').map((c) => c.body as Record<string, any>);
}

describe('npm run publish-feed', () => {
  let pds: StandinPds;
  let dir: string;
  let avatarFile: string;
  let env: Record<string, string>;

  beforeAll(async () => {
    pds = await startStandinPds({ handle: HANDLE, did: DID, password: PASSWORD });
    dir = mkdtempSync(path.join(tmpdir(), 'publish-feed-'));
    avatarFile = path.join(dir, 'avatar.png');
    writeFileSync(avatarFile, PNG);
    env = { BSKY_HANDLE: HANDLE, BSKY_APP_PASSWORD: PASSWORD, BSKY_PDS_URL: pds.url, FEEDGEN_HOSTNAME: 'feed.example.com' };
  });
  afterAll(async () => {
    await pds?.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  // The tests below share the stand-in's repository and run in order.
  let firstCreatedAt = '';

  it('creates the record with putRecord and prints its at:// URI and bsky.app link', async () => {
    const run = await runScript(['--display-name', 'For You', '--description', 'Likes of people like you.'], env);
    expect(run.stderr).toBe('');
    expect(run.code).toBe(0);

    expect(pds.calls.map((c) => c.nsid)).toEqual([
      'com.atproto.server.createSession',
      'com.atproto.repo.getRecord',
      'com.atproto.repo.putRecord',
    ]);
    expect(pds.calls[0]!.body).toEqual({ identifier: HANDLE, password: PASSWORD });
    expect(pds.calls[1]!.status).toBe(400); // RecordNotFound: nothing there yet
    const put = pds.calls[2]!;
    expect(put).toMatchObject({ httpMethod: 'POST', hasAuthHeader: true, authorized: true, status: 200 });
    const [body] = putRecordBodies(pds.calls);
    expect(body).toMatchObject({ repo: DID, collection: 'app.bsky.feed.generator', rkey: 'for-you' });
    expect(body!['swapRecord']).toBeUndefined();
    const record = body!['record'];
    expect(record).toEqual({
      $type: 'app.bsky.feed.generator',
      did: SERVICE_DID,
      displayName: 'For You',
      description: 'Likes of people like you.',
      acceptsInteractions: true,
      createdAt: expect.any(String),
    });
    expect(Date.now() - Date.parse(record.createdAt)).toBeLessThan(60_000);
    firstCreatedAt = record.createdAt;
    expect(() => fixtureLexicons().assertValidRecord('app.bsky.feed.generator', jsonToLex(record))).not.toThrow();
    expect(pds.records.get('app.bsky.feed.generator/for-you')?.value).toEqual(record);

    expect(run.stdout).toContain('created');
    expect(run.stdout).toContain(`at://${DID}/app.bsky.feed.generator/for-you`);
    expect(run.stdout).toContain(`https://bsky.app/profile/${DID}/feed/for-you`);
    expect(run.stdout).toContain(`FEEDGEN_PUBLISHER_DID=${DID}`);
    expect(run.stdout + run.stderr).not.toContain(PASSWORD);
  });

  it('updates the record on a second run, keeping createdAt, and uploads an avatar', async () => {
    const before = pds.records.get('app.bsky.feed.generator/for-you')!;
    pds.calls.length = 0;
    const run = await runScript(['--display-name', 'For You ✨', '--avatar', avatarFile], {
      ...env,
      FEEDGEN_PUBLISHER_DID: 'did:plc:someoneelse0000000000000',
    });
    expect(run.code).toBe(0);
    expect(pds.calls.map((c) => c.nsid)).toEqual([
      'com.atproto.server.createSession',
      'com.atproto.repo.getRecord',
      'com.atproto.repo.uploadBlob',
      'com.atproto.repo.putRecord',
    ]);
    expect(pds.calls[2]).toMatchObject({ authorized: true, body: { bytes: PNG.length, contentType: 'image/png' } });
    const [body] = putRecordBodies(pds.calls);
    expect(body!['swapRecord']).toBe(before.cid);
    expect(body!['record']).toEqual({
      $type: 'app.bsky.feed.generator',
      did: SERVICE_DID,
      displayName: 'For You ✨',
      description: 'Posts liked recently by the people who like what you like.',
      avatar: { $type: 'blob', ref: { $link: cidV1(PNG) }, mimeType: 'image/png', size: PNG.length },
      acceptsInteractions: true,
      createdAt: firstCreatedAt,
    });
    expect(pds.blobs.get(cidV1(PNG))?.bytes.equals(PNG)).toBe(true);
    expect(run.stdout).toContain('updated');
    expect(run.stdout).toContain(`https://bsky.app/profile/${DID}/feed/for-you`);
    // The service would reject the AppView's requests: say so.
    expect(run.stderr).toContain(`FEEDGEN_PUBLISHER_DID is did:plc:someoneelse0000000000000 but the record belongs to ${DID}`);
    expect(run.stdout + run.stderr).not.toContain(PASSWORD);
  });

  it('keeps the avatar when a later run does not name one, and drops it with --remove-avatar', async () => {
    const kept = await runScript(['--display-name', 'For You'], env);
    expect(kept.code).toBe(0);
    const stored = () => pds.records.get('app.bsky.feed.generator/for-you')!.value;
    expect(stored()['avatar']).toMatchObject({ ref: { $link: cidV1(PNG) } });
    expect(stored()['createdAt']).toBe(firstCreatedAt);

    const removed = await runScript(['--display-name', 'For You', '--remove-avatar'], env);
    expect(removed.code).toBe(0);
    expect(stored()['avatar']).toBeUndefined();
    expect(stored()['createdAt']).toBe(firstCreatedAt);
  });

  it('takes the record key from FEEDGEN_FEED_RKEYS and the service DID from FEEDGEN_SERVICE_DID, and logs in by DID', async () => {
    pds.calls.length = 0;
    const run = await runScript([], {
      ...env,
      BSKY_HANDLE: DID,
      FEEDGEN_FEED_RKEYS: 'hot-likes,for-you',
      FEEDGEN_SERVICE_DID: 'did:plc:feedservice000000000000',
      FEEDGEN_PUBLISHER_DID: DID,
    });
    expect(run.code).toBe(0);
    const [body] = putRecordBodies(pds.calls);
    expect(body).toMatchObject({ rkey: 'hot-likes', record: { did: 'did:plc:feedservice000000000000', displayName: 'For You' } });
    expect(run.stdout).toContain(`at://${DID}/app.bsky.feed.generator/hot-likes`);
    expect(run.stdout).toContain(`reminder: FEEDGEN_PUBLISHER_DID must equal ${DID}`);
  });

  it('--dry-run prints the record and contacts nothing', async () => {
    pds.calls.length = 0;
    const run = await runScript(['--dry-run', '--display-name', 'Trial', '--avatar', avatarFile], env);
    expect(run.code).toBe(0);
    expect(JSON.parse(run.stdout)).toEqual({
      $type: 'app.bsky.feed.generator',
      did: SERVICE_DID,
      displayName: 'Trial',
      description: 'Posts liked recently by the people who like what you like.',
      avatar: { $type: 'blob', ref: { $link: cidV1(PNG) }, mimeType: 'image/png', size: PNG.length },
      acceptsInteractions: true,
      createdAt: expect.any(String),
    });
    expect(run.stderr).toContain('nothing was contacted');
    expect(pds.calls).toEqual([]);
    expect(run.stdout + run.stderr).not.toContain(PASSWORD);

    // No account or password needed to look.
    const bare = await runScript(['--dry-run'], { FEEDGEN_HOSTNAME: 'feed.example.com' });
    expect(bare.code).toBe(0);
    expect(JSON.parse(bare.stdout)).toMatchObject({ did: SERVICE_DID, acceptsInteractions: true });
  });

  it('fails with a clear message and no write when the password is wrong', async () => {
    pds.calls.length = 0;
    const run = await runScript(['--app-password', WRONG_PASSWORD], { ...env, BSKY_APP_PASSWORD: '' });
    expect(run.code).toBe(1);
    expect(run.stderr).toContain(`could not log in as ${HANDLE} at ${pds.url}: Invalid identifier or password`);
    expect(run.stdout + run.stderr).not.toContain(WRONG_PASSWORD);
    expect(pds.calls.map((c) => c.nsid)).toEqual(['com.atproto.server.createSession']);
  });

  it('fails clearly when the PDS cannot be reached', async () => {
    const closed = await startStandinPds({ handle: HANDLE, did: DID, password: PASSWORD });
    await closed.close();
    const run = await runScript([], { ...env, BSKY_PDS_URL: closed.url });
    expect(run.code).toBe(1);
    expect(run.stderr).toContain(`could not log in as ${HANDLE} at ${closed.url}`);
    expect(run.stderr).toMatch(/ECONNREFUSED|fetch failed/);
  });

  it('exits 2 on bad flags and settings, naming each problem, before contacting anything', async () => {
    pds.calls.length = 0;
    const cases: Array<{ args: string[]; env?: Record<string, string>; message: string }> = [
      { args: ['--bogus'], message: "Unknown option '--bogus'" },
      { args: ['--handle'], message: "'--handle <value>' argument missing" },
      { args: ['--display-name', 'x'.repeat(25)], message: '--display-name has 25 characters; the lexicon allows at most 24' },
      { args: ['--description', '👍🏽'.repeat(301)], message: '--description has 301 characters; the lexicon allows at most 300' },
      { args: ['--rkey', 'no/slash'], message: '--rkey "no/slash" is not a record key' },
      { args: ['--pds', 'ftp://pds.example'], message: 'must be an http(s) URL' },
      { args: ['--avatar', path.join(dir, 'missing.png')], message: 'missing.png: no such file' },
      { args: ['--avatar', SCRIPT], message: 'is not a PNG or JPEG image' },
      { args: ['--handle', 'not a handle'], message: 'is neither a handle nor a DID' },
      { args: [], env: { FEEDGEN_HOSTNAME: '' }, message: 'set FEEDGEN_SERVICE_DID, or FEEDGEN_HOSTNAME' },
      { args: [], env: { FEEDGEN_SERVICE_DID: 'web:feed.example.com' }, message: 'FEEDGEN_SERVICE_DID = "web:feed.example.com" is not a DID' },
      { args: [], env: { BSKY_APP_PASSWORD: '' }, message: 'the app password is missing' },
      { args: ['extra', PASSWORD], message: 'unexpected arguments (not shown)' },
    ];
    for (const c of cases) {
      const run = await runScript(c.args, { ...env, ...c.env });
      expect({ args: c.args, code: run.code }).toEqual({ args: c.args, code: 2 });
      expect(run.stderr).toContain(c.message);
      expect(run.stdout + run.stderr).not.toContain(PASSWORD);
    }
    expect(pds.calls).toEqual([]);
  });

  it('checks against the same lexicon as the shared fixture', () => {
    // The script validates with @atproto/api's copy; it must not have drifted from the fixture.
    const fromFixture = fixtureLexicons().getDefOrThrow('app.bsky.feed.generator');
    expect(lexicons.getDefOrThrow('app.bsky.feed.generator')).toEqual(fromFixture);
  });
});
