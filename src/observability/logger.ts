import { pino } from 'pino';

export type Logger = pino.Logger;

/** Structured JSON logs on stdout; secrets are never passed to the logger. */
export function createLogger(level: pino.LevelWithSilent, bindings: Record<string, unknown> = {}): Logger {
  return pino({ level, base: bindings, timestamp: pino.stdTimeFunctions.isoTime });
}
