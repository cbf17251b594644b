import { pino } from 'pino';

export type Logger = pino.Logger;

/**
 * Fields that carry secrets if a logged object ever holds them (a request's headers, a
 * config or credentials object): written as "[redacted]". Nothing logs them on purpose.
 */
export const REDACTED_PATHS = [
  'authorization',
  '*.authorization',
  '*.headers.authorization',
  '*.headers.cookie',
  'password',
  '*.password',
  'appPassword',
  '*.appPassword',
  'secretAccessKey',
  '*.secretAccessKey',
  'AWS_SECRET_ACCESS_KEY',
  '*.AWS_SECRET_ACCESS_KEY',
  'BSKY_APP_PASSWORD',
  '*.BSKY_APP_PASSWORD',
  'token',
  '*.token',
];

/** Structured JSON logs on stdout (or `destination`, for tests). */
export function createLogger(level: pino.LevelWithSilent, bindings: Record<string, unknown> = {}, destination?: pino.DestinationStream): Logger {
  const options = { level, base: bindings, timestamp: pino.stdTimeFunctions.isoTime, redact: { paths: REDACTED_PATHS, censor: '[redacted]' } };
  return destination ? pino(options, destination) : pino(options);
}
