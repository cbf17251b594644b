import { AtpAgent, XRPCError } from '@atproto/api';
import { lexToJson } from '@atproto/lexicon';
import { isValidDatetime } from '@atproto/syntax';
import { cidV1 } from './cid.js';
import type { PublishOptions } from './options.js';
import {
  asBlobJson,
  type BlobJson,
  buildGeneratorRecord,
  feedLink,
  feedUri,
  GENERATOR_NSID,
  type GeneratorRecord,
  validateGeneratorRecord,
} from './record.js';

/** Each request to the PDS gives up after this long. */
const REQUEST_TIMEOUT_MS = 30_000;

export interface Output {
  out(line: string): void;
  err(line: string): void;
}

/** A failure to report in one line; 1 when the PDS refused or failed, 2 for bad input. */
export class PublishError extends Error {
  constructor(
    message: string,
    readonly exitCode: 1 | 2 = 1,
  ) {
    super(message);
  }
}

export async function publishFeed(options: PublishOptions, io: Output): Promise<void> {
  const localAvatar: BlobJson | undefined = options.avatar && {
    $type: 'blob',
    ref: { $link: cidV1(options.avatar.bytes) },
    mimeType: options.avatar.mimeType,
    size: options.avatar.bytes.length,
  };
  // The record as it would be on a first publication: checked before anything is sent.
  const draft = buildGeneratorRecord({ ...options, avatar: localAvatar, createdAt: new Date().toISOString() });
  check(draft);

  if (options.dryRun) {
    io.out(JSON.stringify(draft, null, 2));
    const repo = options.identifier ?? '<account>';
    io.err(`dry run: would put ${feedUri(repo, options.rkey)} at ${options.pdsUrl}${options.avatar ? ` after uploading ${options.avatar.path}` : ''}; nothing was contacted`);
    io.err('(on an update the record keeps its createdAt, and its avatar unless --avatar or --remove-avatar is given)');
    return;
  }

  const { identifier, password } = options;
  if (identifier === undefined || password === undefined) throw new PublishError('the account and app password are required', 2);

  const agent = new AtpAgent({
    service: options.pdsUrl,
    fetch: (input, init) => fetch(input, { ...init, signal: init?.signal ?? AbortSignal.timeout(REQUEST_TIMEOUT_MS) }),
  });
  try {
    await agent.login({ identifier, password });
  } catch (e) {
    throw new PublishError(`could not log in as ${identifier} at ${options.pdsUrl}: ${describe(e)}`);
  }
  const did = agent.assertDid;
  if (identifier.startsWith('did:') && identifier !== did) {
    throw new PublishError(`logged in as ${did}, not ${identifier}: refusing to write to another account`);
  }

  const existing = await getExisting(agent, did, options.rkey);

  let avatar: BlobJson | undefined;
  if (options.avatar !== undefined) {
    try {
      const res = await agent.com.atproto.repo.uploadBlob(options.avatar.bytes, { encoding: options.avatar.mimeType });
      avatar = asBlobJson(lexToJson(res.data.blob));
    } catch (e) {
      throw new PublishError(`could not upload ${options.avatar.path}: ${describe(e)}`);
    }
    if (avatar === undefined) throw new PublishError('the PDS answered uploadBlob without a blob reference');
  } else if (!options.removeAvatar) {
    avatar = existing?.avatar;
  }

  const record = buildGeneratorRecord({ ...options, avatar, createdAt: existing?.createdAt ?? draft.createdAt });
  const value = check(record);
  try {
    await agent.com.atproto.repo.putRecord({
      repo: did,
      collection: GENERATOR_NSID,
      rkey: options.rkey,
      record: value as Record<string, unknown>,
      // Fails rather than overwrite a change made since getRecord.
      ...(existing?.cid !== undefined ? { swapRecord: existing.cid } : {}),
    });
  } catch (e) {
    throw new PublishError(`could not write ${feedUri(did, options.rkey)}: ${describe(e)}`);
  }

  io.out(`${existing ? 'updated' : 'created'} feed generator record "${record.displayName}" -> service ${record.did}`);
  io.out(`  uri:  ${feedUri(did, options.rkey)}`);
  io.out(`  link: ${feedLink(did, options.rkey)}`);
  if (record.avatar) io.out(`  avatar: ${record.avatar.ref.$link} (${record.avatar.mimeType}, ${record.avatar.size} bytes)`);
  if (options.publisherDid === undefined) {
    io.out(`reminder: set FEEDGEN_PUBLISHER_DID=${did} on the feed service; it must equal the DID of the account that owns this record`);
  } else if (options.publisherDid !== did) {
    io.err(`warning: FEEDGEN_PUBLISHER_DID is ${options.publisherDid} but the record belongs to ${did}; set FEEDGEN_PUBLISHER_DID=${did} on the feed service`);
  } else {
    io.out(`reminder: FEEDGEN_PUBLISHER_DID must equal ${did} (the account that owns this record); it does here`);
  }
}

interface Existing {
  cid: string | undefined;
  createdAt: string | undefined;
  avatar: BlobJson | undefined;
}

async function getExisting(agent: AtpAgent, did: string, rkey: string): Promise<Existing | undefined> {
  try {
    const res = await agent.com.atproto.repo.getRecord({ repo: did, collection: GENERATOR_NSID, rkey });
    const value = lexToJson(res.data.value) as Record<string, unknown>;
    const createdAt = value['createdAt'];
    return {
      cid: res.data.cid,
      createdAt: typeof createdAt === 'string' && isValidDatetime(createdAt) ? createdAt : undefined,
      avatar: asBlobJson(value['avatar']),
    };
  } catch (e) {
    // A real PDS answers 400 RecordNotFound; match the error name, whatever the status.
    if (e instanceof XRPCError && e.error === 'RecordNotFound') return undefined;
    throw new PublishError(`could not read ${feedUri(did, rkey)}: ${describe(e)}`);
  }
}

function check(record: GeneratorRecord): unknown {
  try {
    return validateGeneratorRecord(record);
  } catch (e) {
    throw new PublishError(e instanceof Error ? e.message : String(e), 2);
  }
}

/** One line: the server's message and error name, or the network failure underneath. */
function describe(e: unknown): string {
  if (!(e instanceof Error)) return String(e);
  let text = e.message;
  if (e instanceof XRPCError && e.status > 1) text += ` (${e.error}, HTTP ${e.status})`;
  for (let cause = e.cause, depth = 0; cause instanceof Error && depth < 3; cause = cause.cause, depth++) {
    if (!text.includes(cause.message)) text += `: ${cause.message}`;
  }
  return text;
}
