import { lexicons } from '@atproto/api';
import { jsonToLex } from '@atproto/lexicon';

/** The collection (and `$type`) of feed generator declarations. */
export const GENERATOR_NSID = 'app.bsky.feed.generator';

/** A blob reference in its JSON form, as records carry it. */
export interface BlobJson {
  $type: 'blob';
  ref: { $link: string };
  mimeType: string;
  size: number;
}

/** The `app.bsky.feed.generator` record this project publishes, in JSON form. */
export interface GeneratorRecord {
  $type: typeof GENERATOR_NSID;
  /** The feed service's DID, which the AppView resolves to reach getFeedSkeleton. */
  did: string;
  displayName: string;
  description?: string;
  avatar?: BlobJson;
  acceptsInteractions: true;
  createdAt: string;
}

export interface GeneratorRecordInput {
  serviceDid: string;
  displayName: string;
  description?: string | undefined;
  avatar?: BlobJson | undefined;
  createdAt: string;
}

export function buildGeneratorRecord(input: GeneratorRecordInput): GeneratorRecord {
  return {
    $type: GENERATOR_NSID,
    did: input.serviceDid,
    displayName: input.displayName,
    ...(input.description !== undefined && input.description !== '' ? { description: input.description } : {}),
    ...(input.avatar !== undefined ? { avatar: input.avatar } : {}),
    acceptsInteractions: true,
    createdAt: input.createdAt,
  };
}

/** The limits the lexicon puts on the fields the operator chooses. */
export interface GeneratorLimits {
  displayNameMaxGraphemes: number;
  descriptionMaxGraphemes: number;
  avatarAccept: string[];
  avatarMaxBytes: number;
}

/** Read from the lexicon @atproto/api ships, so the checks follow it rather than a copy. */
export function generatorLimits(): GeneratorLimits {
  const def = lexicons.getDefOrThrow(GENERATOR_NSID, ['record']);
  const { displayName, description, avatar } = def.record.properties;
  if (displayName?.type !== 'string' || description?.type !== 'string' || avatar?.type !== 'blob') {
    throw new Error(`the ${GENERATOR_NSID} lexicon no longer has the expected displayName/description/avatar fields`);
  }
  return {
    displayNameMaxGraphemes: displayName.maxGraphemes ?? Infinity,
    descriptionMaxGraphemes: description.maxGraphemes ?? Infinity,
    avatarAccept: avatar.accept ?? [],
    avatarMaxBytes: avatar.maxSize ?? Infinity,
  };
}

const segmenter = new Intl.Segmenter(undefined, { granularity: 'grapheme' });

/** User-perceived characters, which is what the lexicon's maxGraphemes counts. */
export function graphemeLength(text: string): number {
  let n = 0;
  for (const _ of segmenter.segment(text)) n++;
  return n;
}

/**
 * Checks the record against the lexicon (field types, formats, lengths in bytes and
 * graphemes) plus the avatar's accepted types and size, which the generic validator
 * leaves to the PDS. Returns the record in the form the XRPC client sends; throws an
 * Error naming the problem otherwise.
 */
export function validateGeneratorRecord(record: GeneratorRecord): unknown {
  const value = jsonToLex(record as unknown as Parameters<typeof jsonToLex>[0]);
  try {
    lexicons.assertValidRecord(GENERATOR_NSID, value);
  } catch (err) {
    throw new Error(`the record is not a valid ${GENERATOR_NSID}: ${err instanceof Error ? err.message : String(err)}`);
  }
  if (record.avatar !== undefined) {
    const limits = generatorLimits();
    if (limits.avatarAccept.length > 0 && !limits.avatarAccept.includes(record.avatar.mimeType)) {
      throw new Error(`the avatar must be one of ${limits.avatarAccept.join(', ')}, not ${record.avatar.mimeType}`);
    }
    if (record.avatar.size > limits.avatarMaxBytes) {
      throw new Error(`the avatar must be at most ${limits.avatarMaxBytes} bytes, not ${record.avatar.size}`);
    }
  }
  return value;
}

/** A blob reference in JSON form, or undefined if the value is not one. */
export function asBlobJson(value: unknown): BlobJson | undefined {
  if (typeof value !== 'object' || value === null) return undefined;
  const v = value as Record<string, unknown>;
  const ref = v['ref'] as Record<string, unknown> | null | undefined;
  if (v['$type'] !== 'blob' || typeof v['mimeType'] !== 'string' || typeof v['size'] !== 'number') return undefined;
  if (typeof ref !== 'object' || ref === null || typeof ref['$link'] !== 'string') return undefined;
  return { $type: 'blob', ref: { $link: ref['$link'] }, mimeType: v['mimeType'], size: v['size'] };
}

export function feedUri(accountDid: string, rkey: string): string {
  return `at://${accountDid}/${GENERATOR_NSID}/${rkey}`;
}

export function feedLink(accountDid: string, rkey: string): string {
  return `https://bsky.app/profile/${accountDid}/feed/${rkey}`;
}
