import type { RequestHandler } from 'express';
import type { Config } from '../../config/config.js';

/**
 * `GET /.well-known/did.json`: the did:web document naming this service's
 * `#bsky_fg` endpoint. Served only when the service DID is this host's did:web.
 */
export function didDocumentRoute(feedgen: Config['feedgen']): RequestHandler {
  const ownDidWeb = `did:web:${feedgen.hostname}`;
  const document = {
    '@context': ['https://www.w3.org/ns/did/v1'],
    id: ownDidWeb,
    service: [{ id: '#bsky_fg', type: 'BskyFeedGenerator', serviceEndpoint: `https://${feedgen.hostname}` }],
  };
  return (_req, res) => {
    if (feedgen.serviceDid !== ownDidWeb) {
      res.status(404).json({ error: 'NotFound', message: `the service DID is ${feedgen.serviceDid}, not ${ownDidWeb}` });
      return;
    }
    res.json(document);
  };
}
