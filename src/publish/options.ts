import { readFileSync, statSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { isValidHandle } from '@atproto/syntax';
import { isDid, isRecordKey } from '../atproto/identifiers.js';
import { type GeneratorLimits, generatorLimits, graphemeLength } from './record.js';

export const USAGE = `usage: npm run publish-feed -- [options]

Creates or updates the app.bsky.feed.generator record that announces this feed.

  --handle <handle|did>     publishing account (env BSKY_HANDLE)
  --app-password <pw>       its app password (env BSKY_APP_PASSWORD; prefer the env:
                            arguments show up in shell history and ps)
  --pds <url>               the account's PDS or entryway (env BSKY_PDS_URL,
                            default ${'https://bsky.social'})
  --rkey <rkey>             record key (default: first of FEEDGEN_FEED_RKEYS, else for-you)
  --display-name <text>     at most 24 graphemes (default "For You")
  --description <text>      at most 300 graphemes ('' for none)
  --avatar <file>           PNG or JPEG, at most 1,000,000 bytes; uploaded as a blob
  --remove-avatar           drop the avatar of an existing record (otherwise it is kept
                            when --avatar is not given)
  --dry-run                 print the record that would be written; contact nothing
  -h, --help                this text

The feed service's DID comes from FEEDGEN_SERVICE_DID, else did:web:$FEEDGEN_HOSTNAME.`;

export const DEFAULT_PDS_URL = 'https://bsky.social';
export const DEFAULT_RKEY = 'for-you';
export const DEFAULT_DISPLAY_NAME = 'For You';
export const DEFAULT_DESCRIPTION = 'Posts liked recently by the people who like what you like.';

export interface Avatar {
  path: string;
  bytes: Buffer;
  mimeType: 'image/png' | 'image/jpeg';
}

export interface PublishOptions {
  /** Handle (without a leading @) or DID; required unless dry-running. */
  identifier: string | undefined;
  password: string | undefined;
  pdsUrl: string;
  rkey: string;
  displayName: string;
  description: string | undefined;
  avatar: Avatar | undefined;
  removeAvatar: boolean;
  serviceDid: string;
  /** FEEDGEN_PUBLISHER_DID if set, to compare with the account that logs in. */
  publisherDid: string | undefined;
  dryRun: boolean;
  /** Things worth saying that do not stop the run. */
  warnings: string[];
}

/** Bad flags or settings; the message lists every problem, one per line. */
export class UsageError extends Error {}

export type ParseResult = { help: true } | { help: false; options: PublishOptions };

/** Flags first, then the environment; every problem is reported at once. */
export function parsePublishOptions(args: string[], env: NodeJS.ProcessEnv): ParseResult {
  let values;
  let positionals: string[];
  try {
    ({ values, positionals } = parseArgs({
      args,
      strict: true,
      allowPositionals: true,
      options: {
        handle: { type: 'string' },
        'app-password': { type: 'string' },
        pds: { type: 'string' },
        rkey: { type: 'string' },
        'display-name': { type: 'string' },
        description: { type: 'string' },
        avatar: { type: 'string' },
        'remove-avatar': { type: 'boolean' },
        'dry-run': { type: 'boolean' },
        help: { type: 'boolean', short: 'h' },
      },
    }));
  } catch (err) {
    throw new UsageError(err instanceof Error ? err.message : String(err));
  }
  if (values.help) return { help: true };

  const problems: string[] = [];
  const warnings: string[] = [];
  // A stray argument may be a mistyped secret: say where it is, not what it is.
  if (positionals.length > 0) {
    problems.push(`unexpected argument${positionals.length > 1 ? 's' : ''} (not shown) at position ${positionalIndexes(args, positionals).join(', ')}: every input is a --flag <value>`);
  }
  const fromEnv = (name: string): string | undefined => {
    const value = env[name]?.trim();
    return value === '' ? undefined : value;
  };
  const dryRun = values['dry-run'] ?? false;
  const limits = generatorLimits();

  let identifier = values.handle ?? fromEnv('BSKY_HANDLE');
  if (identifier !== undefined) {
    identifier = identifier.trim().replace(/^@/, '');
    if (!isValidHandle(identifier) && !isDid(identifier)) problems.push(`--handle/BSKY_HANDLE ${JSON.stringify(identifier)} is neither a handle nor a DID`);
  } else if (!dryRun) {
    problems.push('the account is missing: pass --handle or set BSKY_HANDLE');
  }

  const password = values['app-password'] ?? env['BSKY_APP_PASSWORD'];
  if ((password === undefined || password === '') && !dryRun) {
    problems.push('the app password is missing: set BSKY_APP_PASSWORD (or pass --app-password)');
  }

  const pdsUrl = values.pds ?? fromEnv('BSKY_PDS_URL') ?? DEFAULT_PDS_URL;
  checkPdsUrl(pdsUrl, problems, warnings);

  const envRkeys = fromEnv('FEEDGEN_FEED_RKEYS')?.split(',').map((k) => k.trim()).filter((k) => k !== '');
  const rkey = values.rkey ?? envRkeys?.[0] ?? DEFAULT_RKEY;
  if (!isRecordKey(rkey)) problems.push(`--rkey ${JSON.stringify(rkey)} is not a record key`);
  else if (envRkeys !== undefined && !envRkeys.includes(rkey)) {
    warnings.push(`record key ${rkey} is not in FEEDGEN_FEED_RKEYS (${envRkeys.join(',')}): the service will not serve this feed until it is`);
  }

  const displayName = (values['display-name'] ?? DEFAULT_DISPLAY_NAME).trim();
  checkText('--display-name', displayName, limits.displayNameMaxGraphemes, problems);
  if (displayName === '') problems.push('--display-name must not be empty');
  const description = (values.description ?? DEFAULT_DESCRIPTION).trim();
  checkText('--description', description, limits.descriptionMaxGraphemes, problems);

  let avatar: Avatar | undefined;
  if (values.avatar !== undefined) {
    if (values['remove-avatar']) problems.push('--avatar and --remove-avatar contradict each other');
    avatar = readAvatar(values.avatar, limits, problems);
  }

  const serviceDid = resolveServiceDid(fromEnv('FEEDGEN_SERVICE_DID'), fromEnv('FEEDGEN_HOSTNAME'), problems, warnings);

  const publisherDid = fromEnv('FEEDGEN_PUBLISHER_DID');
  if (publisherDid !== undefined && !isDid(publisherDid)) {
    problems.push(`FEEDGEN_PUBLISHER_DID=${JSON.stringify(publisherDid)} is not a DID`);
  }

  if (problems.length > 0) throw new UsageError(problems.join('\n'));
  return {
    help: false,
    options: {
      identifier,
      password,
      pdsUrl,
      rkey,
      displayName,
      description: description === '' ? undefined : description,
      avatar,
      removeAvatar: values['remove-avatar'] ?? false,
      serviceDid,
      publisherDid,
      dryRun,
      warnings,
    },
  };
}

function positionalIndexes(args: string[], positionals: string[]): number[] {
  const indexes: number[] = [];
  let from = 0;
  for (const p of positionals) {
    const i = args.indexOf(p, from);
    indexes.push(i + 1);
    from = i + 1;
  }
  return indexes;
}

function checkPdsUrl(raw: string, problems: string[], warnings: string[]): void {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    problems.push(`--pds/BSKY_PDS_URL ${JSON.stringify(raw)} is not a URL`);
    return;
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') {
    problems.push(`--pds/BSKY_PDS_URL must be an http(s) URL, got ${JSON.stringify(raw)}`);
  } else if (url.protocol === 'http:' && !['127.0.0.1', 'localhost', '[::1]'].includes(url.hostname)) {
    warnings.push(`${raw} is plain http: the app password would cross the network unencrypted`);
  }
}

function checkText(flag: string, text: string, maxGraphemes: number, problems: string[]): void {
  const n = graphemeLength(text);
  if (n > maxGraphemes) problems.push(`${flag} has ${n} characters; the lexicon allows at most ${maxGraphemes}`);
}

function resolveServiceDid(
  serviceDid: string | undefined,
  hostname: string | undefined,
  problems: string[],
  warnings: string[],
): string {
  if (serviceDid === undefined && hostname === undefined) {
    problems.push('the feed service DID is missing: set FEEDGEN_SERVICE_DID, or FEEDGEN_HOSTNAME for did:web:<hostname>');
    return '';
  }
  if (serviceDid === undefined && hostname !== undefined && !isValidHandle(hostname) && hostname !== 'localhost') {
    problems.push(`FEEDGEN_HOSTNAME=${JSON.stringify(hostname)} is not a hostname`);
    return '';
  }
  const did = serviceDid ?? `did:web:${hostname}`;
  const source = serviceDid !== undefined ? 'FEEDGEN_SERVICE_DID' : 'did:web:$FEEDGEN_HOSTNAME';
  if (!isDid(did)) problems.push(`${source} = ${JSON.stringify(did)} is not a DID`);
  else if (/^did:web:localhost(%3A|$)/i.test(did)) {
    warnings.push(`the service DID is ${did}: the Bluesky AppView cannot reach localhost, so the feed will not load`);
  }
  return did;
}

const PNG_MAGIC = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
const JPEG_MAGIC = Buffer.from([0xff, 0xd8, 0xff]);

/** The file's type comes from its first bytes, not its name. */
function readAvatar(path: string, limits: GeneratorLimits, problems: string[]): Avatar | undefined {
  const stat = statSync(path, { throwIfNoEntry: false });
  if (!stat?.isFile()) {
    problems.push(`--avatar ${path}: no such file`);
    return undefined;
  }
  if (stat.size > limits.avatarMaxBytes) {
    problems.push(`--avatar ${path} is ${stat.size} bytes; the lexicon allows at most ${limits.avatarMaxBytes}`);
    return undefined;
  }
  const bytes = readFileSync(path);
  const mimeType = bytes.subarray(0, 8).equals(PNG_MAGIC) ? 'image/png' : bytes.subarray(0, 3).equals(JPEG_MAGIC) ? 'image/jpeg' : undefined;
  if (mimeType === undefined || !limits.avatarAccept.includes(mimeType)) {
    problems.push(`--avatar ${path} is not a PNG or JPEG image`);
    return undefined;
  }
  return { path, bytes, mimeType };
}
