/**
 * The README and docs/ against the code: the variables the configuration reads, the links
 * between pages, the npm scripts they name, the repository paths they cite.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { configFromEnv } from '../src/config/config.js';
import { ConfigError } from '../src/config/env.js';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const README_MAX_LINES = 200;

interface Page {
  /** Path from the repository root, e.g. `docs/operations.md`. */
  file: string;
  text: string;
}

const pages: Page[] = ['README.md', ...readdirSync(path.join(ROOT, 'docs')).filter((f) => f.endsWith('.md')).map((f) => `docs/${f}`)].map(
  (file) => ({ file, text: readFileSync(path.join(ROOT, file), 'utf8') }),
);

/** The text outside fenced code blocks: where headings and links are. */
function prose(text: string): string {
  let fenced = false;
  return text
    .split('\n')
    .filter((line) => {
      if (/^\s*```/.test(line)) {
        fenced = !fenced;
        return false;
      }
      return !fenced;
    })
    .join('\n');
}

/** Anchors of a page's headings, as GitHub makes them (duplicates get -1, -2 …). */
function anchorsOf(text: string): Set<string> {
  const anchors = new Set<string>();
  for (const [, heading] of prose(text).matchAll(/^#{1,6}\s+(.+?)\s*#*\s*$/gm)) {
    const base = heading!
      .toLowerCase()
      .replace(/[^\p{L}\p{N}\s_-]/gu, '')
      .replace(/\s/g, '-');
    let anchor = base;
    for (let n = 1; anchors.has(anchor); n++) anchor = `${base}-${n}`;
    anchors.add(anchor);
  }
  return anchors;
}

/** Markdown link targets outside code (fenced blocks and inline spans). */
function linkTargets(text: string): string[] {
  const withoutCode = prose(text).replace(/`[^`\n]*`/g, '');
  return [...withoutCode.matchAll(/\]\(([^)\s]+)\)/g)].map((m) => m[1]!);
}

/**
 * Every environment variable name `configFromEnv` reads for this env: the env is wrapped
 * in a Proxy that records each key asked for, whether it is set or not.
 */
function namesReadBy(base: Record<string, string>): Set<string> {
  const names = new Set<string>();
  const env = new Proxy(base, {
    get(target, key) {
      if (typeof key === 'string') names.add(key);
      return target[key as string];
    },
  });
  try {
    configFromEnv(env);
  } catch (err) {
    // Readers record problems and throw once at the end: every name was read by then.
    if (!(err instanceof ConfigError)) throw err;
  }
  return names;
}

describe('docs/configuration.md', () => {
  const publisher = { FEEDGEN_PUBLISHER_DID: 'did:plc:ewvi7nxzyoun6zhxrhs64oiz' };
  const fly = { FLY_APP_NAME: 'foryou-feedgen', PRIMARY_REGION: 'ams', ...publisher };
  const bucket = { BUCKET_NAME: 'feeds', AWS_ENDPOINT_URL_S3: 'https://fly.storage.tigris.dev', AWS_REGION: 'auto' };
  // Every branch of the configuration: each role, on and off Fly, with and without a bucket, under Litestream.
  const variants: Record<string, Record<string, string>> = {
    'local primary': {},
    'local replica': { ROLE: 'replica' },
    'local primary with a bucket': { ...bucket },
    'Fly primary': { ...fly, FLY_REGION: 'ams', ...bucket },
    'Fly replica': { ...fly, FLY_REGION: 'sin', ...bucket },
    'Fly without a publisher DID': { FLY_APP_NAME: 'foryou-feedgen', FLY_REGION: 'ams', PRIMARY_REGION: 'ams' },
    'primary under Litestream': { UNDER_LITESTREAM: '1', ...bucket },
    'status peers and metrics port': { STATUS_PEERS: 'http://[fdaa::1]:8080', METRICS_PORT: '9091', ...publisher },
  };
  const read = new Set<string>();
  for (const env of Object.values(variants)) for (const name of namesReadBy(env)) read.add(name);
  const variables = [...read].filter((name) => /^[A-Z][A-Z0-9_]*$/.test(name)).sort();
  const table = readFileSync(path.join(ROOT, 'docs/configuration.md'), 'utf8');

  it('the recorder sees the variables of every branch', () => {
    for (const name of ['PORT', 'DATA_DIR', 'ROLE', 'JETSTREAM_URL', 'FEEDGEN_PUBLISHER_DID', 'LITESTREAM_REPLICA_DIR', 'LITESTREAM_PATH']) {
      expect(variables, name).toContain(name);
    }
  });

  it('names every variable configFromEnv reads', () => {
    const missing = variables.filter((name) => !table.includes(`\`${name}\``));
    expect(missing).toEqual([]);
  });
});

describe('README.md and docs/', () => {
  it(`README.md is at most ${README_MAX_LINES} lines`, () => {
    const readme = pages.find((p) => p.file === 'README.md')!;
    expect(readme.text.trimEnd().split('\n').length).toBeLessThanOrEqual(README_MAX_LINES);
  });

  it('every relative link points to a file that exists, and to a heading it has', () => {
    const broken: string[] = [];
    let checked = 0;
    for (const page of pages) {
      for (const target of linkTargets(page.text)) {
        if (/^[a-z][a-z0-9+.-]*:/i.test(target)) continue; // http:, https:, mailto:
        checked++;
        const [file, anchor] = target.split('#') as [string, string | undefined];
        const resolved = file === '' ? page.file : path.posix.normalize(path.posix.join(path.posix.dirname(page.file), file));
        const absolute = path.join(ROOT, resolved);
        if (!existsSync(absolute)) {
          broken.push(`${page.file}: ${target} (no file ${resolved})`);
          continue;
        }
        if (anchor !== undefined && resolved.endsWith('.md') && !anchorsOf(readFileSync(absolute, 'utf8')).has(anchor)) {
          broken.push(`${page.file}: ${target} (no heading #${anchor} in ${resolved})`);
        }
      }
    }
    expect(checked).toBeGreaterThan(0);
    expect(broken).toEqual([]);
  });

  it('every `npm run <name>` is a script in package.json', () => {
    const scripts = Object.keys((JSON.parse(readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as { scripts: Record<string, string> }).scripts);
    const unknown: string[] = [];
    for (const page of pages) {
      for (const [, name] of page.text.matchAll(/npm run ([a-z][\w:-]*\w)/g)) if (!scripts.includes(name!)) unknown.push(`${page.file}: npm run ${name}`);
    }
    expect(unknown).toEqual([]);
  });

  it('every repository path they cite in backticks exists', () => {
    const missing: string[] = [];
    for (const page of pages) {
      for (const [, cited] of prose(page.text).matchAll(/`((?:src|testkit|scripts|test|docs|patches|\.ci)\/[\w./+-]*)`/g)) {
        if (!existsSync(path.join(ROOT, cited!))) missing.push(`${page.file}: ${cited}`);
      }
    }
    expect(missing).toEqual([]);
  });
});
