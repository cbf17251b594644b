import { mix32, type Rng } from '../random.js';
import type { LineWriter } from './line-writer.js';

/** Post text: a topic tag per community, and plain ASCII words (safe inside JSON as they are). */

const TOPICS = [
  'art', 'books', 'gardening', 'jazz', 'rustlang', 'typescript', 'birds', 'astronomy', 'cooking', 'cycling',
  'football', 'knitting', 'photography', 'politics', 'science', 'gaming', 'anime', 'climate', 'history', 'math',
  'running', 'film', 'music', 'design', 'linux', 'coffee', 'chess', 'hiking', 'fashion', 'poetry',
];
/** Repeated to weigh them. */
const LANGUAGES = ['en', 'en', 'en', 'en', 'en', 'en', 'ja', 'pt', 'de', 'es', 'fr', 'ko'];
const WORDS = [
  'the', 'a', 'new', 'today', 'really', 'love', 'this', 'thread', 'look', 'at', 'my', 'first', 'week', 'finally',
  'great', 'little', 'more', 'why', 'how', 'people', 'think', 'good', 'morning', 'night', 'photo', 'post', 'read',
  'just', 'made', 'found', 'best', 'ever', 'can', 'we', 'talk', 'about', 'it', 'again', 'so', 'much', 'fun', 'here',
];

export function communityLanguage(community: number): string {
  return LANGUAGES[mix32(community) % LANGUAGES.length]!;
}

/** `#topic` and a few words, unquoted. */
export function writePostText(out: LineWriter, rng: Rng, community: number): void {
  out.byte(35); // '#'
  out.ascii(communityTopic(community));
  const words = 3 + rng.below(12);
  for (let i = 0; i < words; i++) {
    out.byte(32); // ' '
    out.ascii(rng.pick(WORDS));
  }
}

/** Topics repeat with a number once every one is taken: art, …, poetry, art1, … */
function communityTopic(community: number): string {
  const round = Math.floor(community / TOPICS.length);
  return TOPICS[community % TOPICS.length]! + (round > 0 ? String(round) : '');
}
