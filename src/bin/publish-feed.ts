/**
 * Creates or updates this feed's app.bsky.feed.generator record, non-interactively:
 *   BSKY_HANDLE=... BSKY_APP_PASSWORD=... FEEDGEN_HOSTNAME=... npm run publish-feed -- [--dry-run] ...
 * Exit status: 0 done, 1 the PDS refused or could not be reached, 2 bad flags or settings.
 * The app password is never printed: every line of output is scrubbed of it.
 */
import { parsePublishOptions, UsageError, USAGE } from '../publish/options.js';
import { publishFeed, PublishError } from '../publish/publish.js';

const NAME = 'publish-feed';
const args = process.argv.slice(2);
const secrets = secretsIn(args, process.env);

const redact = (text: string): string => secrets.reduce((out, secret) => out.split(secret).join('***'), text);
const out = (line: string): void => void process.stdout.write(`${redact(line)}\n`);
const err = (line: string): void => void process.stderr.write(`${redact(line)}\n`);

async function main(): Promise<number> {
  let parsed;
  try {
    parsed = parsePublishOptions(args, process.env);
  } catch (e) {
    if (!(e instanceof UsageError)) throw e;
    for (const line of e.message.split('\n')) err(`${NAME}: ${line}`);
    err(`run with --help for the options`);
    return 2;
  }
  if (parsed.help) {
    out(USAGE);
    return 0;
  }
  const { options } = parsed;
  for (const warning of options.warnings) err(`${NAME}: warning: ${warning}`);
  try {
    await publishFeed(options, { out, err });
    return 0;
  } catch (e) {
    if (e instanceof PublishError) {
      err(`${NAME}: ${e.message}`);
      return e.exitCode;
    }
    throw e;
  }
}

/** The app password, wherever it was given, so that no output can carry it. */
function secretsIn(argv: string[], env: NodeJS.ProcessEnv): string[] {
  const found = new Set<string>();
  const fromEnv = env['BSKY_APP_PASSWORD'];
  if (fromEnv) found.add(fromEnv);
  argv.forEach((arg, i) => {
    if (arg === '--app-password' && argv[i + 1]) found.add(argv[i + 1]!);
    if (arg.startsWith('--app-password=') && arg.length > '--app-password='.length) found.add(arg.slice('--app-password='.length));
  });
  // Longest first, so a password containing another is scrubbed whole.
  return [...found].sort((a, b) => b.length - a.length);
}

main().then(
  (code) => {
    process.exitCode = code;
  },
  (e: unknown) => {
    err(`${NAME}: unexpected error: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}`);
    process.exitCode = 1;
  },
);
