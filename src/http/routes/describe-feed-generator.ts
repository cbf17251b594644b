import type { RequestHandler } from 'express';
import type { Config } from '../../config/config.js';
import { feedUri } from './get-feed-skeleton.js';

/** `GET /xrpc/app.bsky.feed.describeFeedGenerator`: who we are and which feeds we serve. */
export function describeFeedGeneratorRoute(feedgen: Config['feedgen']): RequestHandler {
  const links = {
    ...(feedgen.privacyPolicyUrl ? { privacyPolicy: feedgen.privacyPolicyUrl } : {}),
    ...(feedgen.termsOfServiceUrl ? { termsOfService: feedgen.termsOfServiceUrl } : {}),
  };
  const body = {
    did: feedgen.serviceDid,
    feeds: feedgen.feedRkeys.map((rkey) => ({ uri: feedUri(feedgen.publisherDid, rkey) })),
    ...(Object.keys(links).length > 0 ? { links } : {}),
  };
  return (_req, res) => {
    res.json(body);
  };
}
