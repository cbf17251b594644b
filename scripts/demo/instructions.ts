import path from 'node:path';
import type { DemoNode } from './nodes.js';
import type { DemoUser } from './users.js';

const SKELETON = 'app.bsky.feed.getFeedSkeleton';
const SEND = 'app.bsky.feed.sendInteractions';
const WATCHED_METRICS = 'feedgen_(replica_lag_seconds|graph_likes|fly_replays_total|replica_store_requests|replica_follow_errors_total)';

export interface DemoSetting {
  edgeUrl: string;
  nodes: DemoNode[];
  feedUri: string;
  user: DemoUser;
  /** A user with no likes, whose feed comes from who they follow (the AppView stand-in). */
  coldUser: DemoUser;
  /** A post to mark seen with sendInteractions. */
  post: string;
  /** The replica to read from, and the one to write through. */
  readRegion: string;
  writeRegion: string;
}

/** What to try once everything is up: curl commands through the edge, as a client of Fly would send them. */
export async function instructions(s: DemoSetting): Promise<string> {
  const via = (region: string) => `-H 'fly-prefer-region: ${region}'`;
  const feedQuery = new URLSearchParams({ feed: s.feedUri, limit: '10' });
  const body = JSON.stringify({ interactions: [{ item: s.post, event: 'app.bsky.feed.defs#interactionSeen' }] });
  const primary = s.nodes.find((node) => node.role === 'primary')!;
  return [
    `The edge (Fly's proxy) is ${s.edgeUrl}; behind it, one machine per region:`,
    ...s.nodes.map((node) => `  ${node.region}  ${node.role.padEnd(7)}  ${node.url}  log: ${path.relative(process.cwd(), node.logFile)}`),
    '',
    'Health of each machine, through the edge:',
    ...s.nodes.map((node) => `  curl -s ${via(node.region)} ${s.edgeUrl}/xrpc/_health`),
    '',
    `A personal feed for ${s.user.did}, served by the replica in ${s.readRegion} (the token is valid one hour):`,
    `  curl -s ${via(s.readRegion)} -H 'authorization: Bearer ${await s.user.token(SKELETON)}' '${s.edgeUrl}/xrpc/${SKELETON}?${feedQuery}'`,
    '',
    `The feed of ${s.coldUser.did}, who never liked anything: ranked from the accounts they follow (the AppView stand-in says who):`,
    `  curl -s -H 'authorization: Bearer ${await s.coldUser.token(SKELETON)}' '${s.edgeUrl}/xrpc/${SKELETON}?${feedQuery}'`,
    `  and why each post is there: ${s.edgeUrl}/playground?actor=${s.coldUser.did}`,
    '',
    `sendInteractions sent to the replica in ${s.writeRegion}: it answers fly-replay, and the edge replays the request on the primary (${primary.region}):`,
    `  curl -s -X POST ${via(s.writeRegion)} -H 'content-type: application/json' -H 'authorization: Bearer ${await s.user.token(SEND)}' -d '${body}' ${s.edgeUrl}/xrpc/${SEND}`,
    `  curl -s ${via(s.writeRegion)} ${s.edgeUrl}/metrics | grep feedgen_fly_replays_total`,
    '',
    'Metrics of a replica (lag, like graph, replays, bucket requests):',
    `  curl -s ${via(s.readRegion)} ${s.edgeUrl}/metrics | grep -E '^${WATCHED_METRICS}'`,
    '',
    `The status page of each machine, in a browser: ${s.edgeUrl}/ (add fly-prefer-region with a header tool to pick one).`,
  ].join('\n');
}
