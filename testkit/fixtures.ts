import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

/** The fixtures the project tests against, copied into the repository (see fixtures/SOURCES.md). */
export const FIXTURES_DIR = fileURLToPath(new URL('./fixtures/', import.meta.url));

export const CAPTURE_FILE = `${FIXTURES_DIR}jetstream/capture-2026-07-04.jsonl`;
export const GOLDEN_KINDS_FILE = `${FIXTURES_DIR}jetstream/golden-kinds.jsonl`;

/**
 * One interop vector file: a case per line, `#` starts a comment, blank lines
 * skipped, and nothing trimmed (leading and trailing spaces are deliberate cases).
 */
export function syntaxVectors(name: string): string[] {
  const text = readFileSync(`${FIXTURES_DIR}atproto-interop/syntax/${name}.txt`, 'utf8');
  return text.split('\n').filter((line) => line !== '' && !line.startsWith('#'));
}

export function jsonlLines(file: string): string[] {
  return readFileSync(file, 'utf8').split('\n').filter((line) => line !== '');
}
