/**
 * Fly's dynamic request routing headers (fly.io/docs/networking/dynamic-request-routing):
 *
 * - `fly-replay` (response): `field=value` pairs separated by `;`, e.g. `region=sjc`,
 *   `region="iad,ord";state=write` (a list of regions must be quoted). Fly's proxy
 *   replays the original request, body included (at most 1 MB), where it says.
 * - `fly-replay-src` (request): added by the proxy to a replayed request:
 *   `instance=<machine that sent fly-replay>;region=<its region>;t=<µs since the epoch>;state=<state>`.
 */

export const FLY_REPLAY = 'fly-replay';
export const FLY_REPLAY_SRC = 'fly-replay-src';
/** Set by Fly's proxy on a request it routed back to the replaying machine (`fallback`). */
export const FLY_REPLAY_FAILED = 'fly-replay-failed';

export interface FlyReplay {
  /** Target regions in order of preference (aliases such as `us` or `any` included as given). */
  regions: string[];
  instance?: string;
  app?: string;
  state?: string;
  /** Every field as sent, `elsewhere`, `prefer_instance`, `timeout`, ... included. */
  fields: Record<string, string>;
}

export interface FlyReplaySource {
  instance: string;
  region: string;
  /** Microseconds since the Unix epoch. */
  t: number;
  state?: string;
}

/**
 * `a=1;b="x,y"` → `{a: '1', b: 'x,y'}`; undefined when a pair has no name or no `=`.
 * Quotes are only needed around values with `,`; a `;` inside quotes does not split.
 */
export function parseFlyFields(value: string): Record<string, string> | undefined {
  const fields: Record<string, string> = {};
  const pair = /\s*([A-Za-z_][\w-]*)\s*=\s*("[^"]*"|[^;"]*)\s*(?:;|$)/y;
  let at = 0;
  while (at < value.length) {
    pair.lastIndex = at;
    const match = pair.exec(value);
    if (!match || match[0] === '') return undefined;
    const raw = match[2]!;
    fields[match[1]!.toLowerCase()] = raw.startsWith('"') ? raw.slice(1, -1) : raw.trim();
    at = pair.lastIndex;
  }
  return Object.keys(fields).length > 0 ? fields : undefined;
}

/** The `fly-replay` header's fields, or undefined when it cannot be parsed or names no target. */
export function parseFlyReplay(value: string): FlyReplay | undefined {
  const fields = parseFlyFields(value);
  if (!fields) return undefined;
  const regions = (fields.region ?? '').split(',').map((r) => r.trim()).filter((r) => r !== '');
  if (regions.length === 0 && !fields.instance && !fields.prefer_instance && !fields.app && fields.elsewhere !== 'true') return undefined;
  return { regions, instance: fields.instance, app: fields.app, state: fields.state, fields };
}

/** `region=<region>;state=<state>`: send the request to one region, saying why. */
export function formatFlyReplay(region: string, state?: string, extra: Record<string, string> = {}): string {
  const fields = { region, ...(state === undefined ? {} : { state }), ...extra };
  return Object.entries(fields).map(([k, v]) => `${k}=${v}`).join(';');
}

export function formatFlyReplaySrc(src: FlyReplaySource): string {
  const state = src.state === undefined ? '' : `;state=${src.state}`;
  return `instance=${src.instance};region=${src.region};t=${src.t}${state}`;
}

/** The `fly-replay-src` header of a replayed request; undefined when it is not one. */
export function parseFlyReplaySrc(value: string): FlyReplaySource | undefined {
  const fields = parseFlyFields(value);
  if (!fields?.instance || !fields.region || !/^\d+$/.test(fields.t ?? '')) return undefined;
  return { instance: fields.instance, region: fields.region, t: Number(fields.t), ...(fields.state !== undefined ? { state: fields.state } : {}) };
}
