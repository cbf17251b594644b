/**
 * The generator settings `npm run eval -- --sweep` runs besides the default: each moves one
 * knob of the model the ranker's weights could be tuned to without anyone noticing.
 */
import type { EvalOptions } from './evaluate.js';

export interface SweepSetting {
  name: string;
  generator: Pick<EvalOptions, 'communities' | 'inCommunityLikeShare' | 'freshDecayHours'>;
}

export const SWEEP_SETTINGS: readonly SweepSetting[] = [
  { name: 'default', generator: {} },
  // Few large communities (8; 5,000 users each at 2 M likes, against 1,000 by default): a
  // community's popular list is then a strong answer, and co-likes spread over many more people.
  { name: 'few large communities', generator: { communities: 8 } },
  // Sparse taste: 40 % of likes go anywhere in the network (10 % by default), so shared likes
  // are weaker evidence of shared taste and popularity matters more.
  { name: 'sparse taste', generator: { inCommunityLikeShare: 0.6 } },
  // Slow freshness: a community's posts draw likes for days (24 h decay, 4 h by default), so
  // the recency weights tuned for a fast feed overrate the newest likes.
  { name: 'slow freshness', generator: { freshDecayHours: 24 } },
];
