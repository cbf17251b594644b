import type { ExplainedPost } from '../../feed/feed-engine.js';
import { splitPostUri } from '../../atproto/identifiers.js';
import { html, SafeHtml } from './status-page.js';

/** What the playground shows: the form, then a message or the ranked posts. */
export interface PlaygroundView {
  /** What was typed, shown back in the form. */
  actor: string;
  message?: string;
  /** `source`: the preset, `<preset>+follows` when the user's follows joined the ranking. */
  ranked?: { did: string; source: string; posts: ExplainedPost[] };
}

/** The whole page; every value passes through `html`, so everything typed is escaped. */
export function renderPlaygroundPage(view: PlaygroundView): string {
  const ranked = view.ranked;
  return html`<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>For You playground</title>
<style>${new SafeHtml(STYLE)}</style>
</head>
<body>
<h1>For You playground</h1>
<form method="get" action="/playground">
<label for="actor">Handle or DID</label> <input id="actor" name="actor" value="${view.actor}" placeholder="alice.bsky.social or did:plc:…" size="40" required>
<button type="submit">Rank</button>
</form>
<p class="note">A handle is resolved to its DID through the configured identity service.</p>
${view.message === undefined ? '' : html`<p id="message">${view.message}</p>`}
${ranked === undefined ? '' : html`<p>The first ${ranked.posts.length} posts of the feed of <code>${ranked.did}</code> (ranked by ${ranked.source}).</p>
<ol id="feed">${ranked.posts.map(post)}</ol>`}
</body>
</html>
`.text;
}

function post(p: ExplainedPost) {
  return html`<li class="post" data-uri="${p.uri}"><a href="${bskyUrl(p.uri)}">${p.uri}</a>
<ul>${p.colikers.map(
    (c) => html`<li class="coliker${c.followed ? ' followed' : ''}" data-did="${c.did}">liked by <code>${c.did}</code>${c.followed ? ', whom this user follows' : ''}${
      c.sharedSeeds.length === 0 ? '' : html`, who${c.followed ? '' : ' like this user or the accounts they follow'} also liked ${c.sharedSeeds.map((seed, i) => html`${i > 0 ? ', ' : ''}<a class="seed" href="${bskyUrl(seed)}">${seed}</a>`)}`
    }</li>`,
  )}</ul></li>`;
}

function bskyUrl(uri: string): string {
  const { authorDid, rkey } = splitPostUri(uri);
  return `https://bsky.app/profile/${authorDid}/post/${rkey}`;
}

const STYLE = `
body{font:14px/1.4 system-ui,sans-serif;margin:1.5rem;max-width:60rem;color:#222}
h1{font-size:1.3rem}code,a{overflow-wrap:anywhere}
#message{color:#a00}ol{padding-left:1.5rem}li.post{margin:.4rem 0}li.coliker{font-size:12px;color:#555}
.note{font-size:12px;color:#666}`;
