/**
 * A user's follows from an AppView's `app.bsky.graph.getFollows`: page after page (100 a
 * page) up to a cap, all under one deadline, every answer checked (a JSON object whose
 * `follows` are profiles with valid DIDs, a string cursor or none). The follows cache
 * (src/feed/follows/) is its only caller: it dedupes and bounds the fetches.
 */
import { withDeadline } from '../util/deadline.js';
import { isDid } from './identifiers.js';

export const GET_FOLLOWS = 'app.bsky.graph.getFollows';
/** The lexicon's largest `limit`. */
const PAGE_LIMIT = 100;
/** 100 profile views are tens of kilobytes: a page past this is not one. */
const MAX_PAGE_BYTES = 1024 * 1024;

/** Why a fetch failed; each is a label of `feedgen_follows_fetches_total{outcome}`. */
export type FollowsFailure = 'timeout' | 'network' | 'http_error' | 'malformed' | 'busy';

export class FollowsFetchError extends Error {
  constructor(
    readonly reason: FollowsFailure,
    readonly did: string,
    message: string,
    options?: ErrorOptions,
  ) {
    super(message, options);
    this.name = 'FollowsFetchError';
  }
}

/** Where follows come from: the AppView in production; a test may stand in. */
export interface FollowsSource {
  /** The DIDs `did` follows, at most the configured cap, in the AppView's order (newest first). */
  fetchFollows(did: string): Promise<string[]>;
}

export interface AppViewFollowsOptions {
  /** Base URL of the AppView (`https://public.api.bsky.app`). */
  appviewUrl: string;
  /** The whole fetch, every page included. */
  timeoutMs: number;
  /** Follows read at most per user. */
  maxFollows: number;
}

export class AppViewFollowsClient implements FollowsSource {
  constructor(private readonly options: AppViewFollowsOptions) {}

  fetchFollows(did: string): Promise<string[]> {
    const { timeoutMs } = this.options;
    return withDeadline(timeoutMs, () => new FollowsFetchError('timeout', did, `follows not fetched within ${timeoutMs} ms`), (signal) => this.allPages(did, signal));
  }

  /** Pages until the AppView has no cursor left or the cap is reached; repeats counted once. */
  private async allPages(did: string, signal: AbortSignal): Promise<string[]> {
    const { maxFollows } = this.options;
    const follows = new Set<string>();
    let cursor: string | undefined;
    // Every page but the last is full: more pages than this mean the cursor goes round.
    const maxPages = Math.ceil(maxFollows / PAGE_LIMIT) + 1;
    for (let page = 0; page < maxPages && follows.size < maxFollows; page++) {
      const answer = await this.page(did, cursor, signal);
      for (const followed of answer.follows) if (follows.size < maxFollows) follows.add(followed);
      if (answer.cursor === undefined || answer.cursor === cursor || answer.follows.length === 0) break;
      cursor = answer.cursor;
    }
    return [...follows];
  }

  private async page(did: string, cursor: string | undefined, signal: AbortSignal): Promise<{ follows: string[]; cursor: string | undefined }> {
    const url = new URL(`/xrpc/${GET_FOLLOWS}`, this.options.appviewUrl);
    url.searchParams.set('actor', did);
    url.searchParams.set('limit', String(PAGE_LIMIT));
    if (cursor !== undefined) url.searchParams.set('cursor', cursor);
    let text: string;
    try {
      const response = await fetch(url, { signal, headers: { accept: 'application/json' } });
      if (!response.ok) {
        await response.body?.cancel();
        throw new FollowsFetchError('http_error', did, `${GET_FOLLOWS} answered HTTP ${response.status}`);
      }
      text = await cappedText(response, did);
    } catch (err) {
      if (err instanceof FollowsFetchError) throw err;
      // The deadline's own error, when it is what aborted the fetch.
      if (signal.aborted && signal.reason instanceof FollowsFetchError) throw signal.reason;
      throw new FollowsFetchError('network', did, `${GET_FOLLOWS} failed (${errorCode(err)})`, { cause: err });
    }
    return checkedPage(did, text);
  }
}

/** The body as text, refused past MAX_PAGE_BYTES whether or not a length was announced. */
async function cappedText(response: Response, did: string): Promise<string> {
  const tooLarge = () => new FollowsFetchError('malformed', did, `${GET_FOLLOWS} answered more than ${MAX_PAGE_BYTES} bytes`);
  if (Number(response.headers.get('content-length') ?? 0) > MAX_PAGE_BYTES) {
    await response.body?.cancel();
    throw tooLarge();
  }
  const chunks: Uint8Array[] = [];
  let size = 0;
  for await (const chunk of response.body ?? []) {
    size += chunk.length;
    if (size > MAX_PAGE_BYTES) throw tooLarge();
    chunks.push(chunk);
  }
  return Buffer.concat(chunks).toString('utf8');
}

/** The lexicon's output: `{subject, cursor?, follows: [{did, ...}]}`; only what we use is checked beyond its shape. */
function checkedPage(did: string, text: string): { follows: string[]; cursor: string | undefined } {
  const malformed = (why: string) => new FollowsFetchError('malformed', did, `${GET_FOLLOWS} answer ${why}`);
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    throw malformed('is not JSON');
  }
  if (!isObject(body) || !Array.isArray(body.follows)) throw malformed('has no follows list');
  if (!isObject(body.subject) || body.subject.did !== did) throw malformed('is about another subject');
  if (body.cursor !== undefined && typeof body.cursor !== 'string') throw malformed('has a cursor that is not a string');
  const follows: string[] = [];
  for (const profile of body.follows as unknown[]) {
    if (!isObject(profile) || typeof profile.did !== 'string' || !isDid(profile.did)) throw malformed('lists a profile without a valid DID');
    follows.push(profile.did);
  }
  return { follows, cursor: body.cursor };
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function errorCode(err: unknown): string {
  const cause = (err as { cause?: { code?: unknown } }).cause;
  return typeof cause?.code === 'string' ? cause.code : err instanceof Error ? err.message : 'network error';
}
