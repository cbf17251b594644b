/**
 * Who the demo's users follow, for the stand-in AppView. A simple rule for now: the authors
 * of the posts each user liked in the generated stream. The cold user, who never liked
 * anything, follows the signed-in users and every author they follow.
 */
import { createReadStream } from 'node:fs';
import { createInterface } from 'node:readline';

/** A user who never likes in the stream: their feed comes from their follows alone. */
export const COLD_USER_DID = 'did:plc:democoldstartuser2345abc';

/** Followed DIDs by follower: each of `users`, and the cold user. */
export async function demoFollows(streamFile: string, users: readonly string[]): Promise<Map<string, string[]>> {
  const wanted = new Set(users);
  const authors = new Map(users.map((did) => [did, new Set<string>()]));
  const lines = createInterface({ input: createReadStream(streamFile, 'utf8'), crlfDelay: Infinity });
  for await (const line of lines) {
    // Lines start `{"did":"<did>"`: only the users' own are parsed.
    const did = line.slice(8, line.indexOf('"', 8));
    if (!wanted.has(did)) continue;
    const author = likedAuthor(line);
    if (author !== undefined && author !== did) authors.get(did)!.add(author);
  }
  const follows = new Map([...authors].map(([did, set]) => [did, [...set]]));
  follows.set(COLD_USER_DID, [...new Set([...users, ...[...authors.values()].flatMap((set) => [...set])])]);
  return follows;
}

/** The author of the post a like create names, or undefined for any other line. */
function likedAuthor(line: string): string | undefined {
  try {
    const { commit } = JSON.parse(line) as { commit?: { operation?: string; collection?: string; record?: { subject?: { uri?: string } } } };
    if (commit?.operation !== 'create' || commit.collection !== 'app.bsky.feed.like') return undefined;
    return commit.record?.subject?.uri?.slice('at://'.length).split('/')[0];
  } catch {
    return undefined; // the generator's malformed lines
  }
}
