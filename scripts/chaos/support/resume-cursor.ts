/**
 * The rule a reconnection's `cursor` must follow: resume at or before the newest event
 * already committed (else whatever came after it is skipped), and no further back than the
 * service's rewind plus the stream's disorder (else it replays from scratch rather than resuming).
 */

/** JETSTREAM_REWIND_SECONDS's default, which the scenarios leave as is. */
export const REWIND_US = 5_000_000;
/** The least disorder the cursor tracker assumes (MIN_DISORDER_US). */
const MIN_DISORDER_US = 1_000_000;
/** Room for events read but not yet committed when the cursor was taken. */
const SLACK_US = 1_000_000;

export interface ResumeCheck {
  /** Stream seconds the cursor went back from the newest committed event (negative: it skipped ahead). */
  rewoundSeconds: number;
  problem: string | undefined;
}

export function checkResume(cursor: string | undefined, newestCommittedUs: number, disorderUs: number): ResumeCheck {
  if (cursor === undefined) return { rewoundSeconds: NaN, problem: 'reconnected without a cursor (would start live)' };
  const rewoundUs = newestCommittedUs - Number(cursor);
  const rewoundSeconds = rewoundUs / 1e6;
  const limitUs = REWIND_US + Math.max(MIN_DISORDER_US, disorderUs) + SLACK_US;
  if (rewoundUs < 0) return { rewoundSeconds, problem: `cursor ${cursor} is ${(-rewoundSeconds).toFixed(1)} s after the newest committed event` };
  if (rewoundUs > limitUs) return { rewoundSeconds, problem: `cursor ${cursor} rewinds ${rewoundSeconds.toFixed(1)} s, more than ${(limitUs / 1e6).toFixed(1)} s` };
  return { rewoundSeconds, problem: undefined };
}
