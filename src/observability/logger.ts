/** The pino logger factory: JSON lines, errors under `err`, credentials redacted by path. */

import { pino, type Logger, type DestinationStream } from 'pino';

export type { Logger };

/** Paths whose values never reach a log line. */
export const REDACT_PATHS = [
  'req.headers.authorization',
  'req.headers.cookie',
  'headers.authorization',
  'authorization',
  'password',
  'token',
  '*.password',
  '*.token',
  '*.bearerTokens',
  'auth.*.bearerTokens',
  'auth.*.basic',
];

/** Creates the service logger; tests pass a destination to read lines back as objects. */
export function createLogger(options: { level?: string; destination?: DestinationStream } = {}): Logger {
  const opts = { level: options.level ?? 'info', redact: { paths: REDACT_PATHS, censor: '[REDACTED]' }, base: { service: 'remediator' } };
  return options.destination ? pino(opts, options.destination) : pino(opts);
}
