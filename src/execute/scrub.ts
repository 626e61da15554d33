/** Redaction of secrets in command output, applied before output is stored or logged. */

const REDACTED = '[REDACTED]';
/** Shorter values would redact ordinary words. */
const MIN_SECRET_LENGTH = 4;

/** Patterns that carry a secret whatever its value; the capture group before the value is kept. */
const PATTERNS: ReadonlyArray<{ re: RegExp; keepPrefix: boolean }> = [
  { re: /-----BEGIN [A-Z0-9 ]*PRIVATE KEY-----[\s\S]*?(?:-----END [A-Z0-9 ]*PRIVATE KEY-----|$)/g, keepPrefix: false },
  { re: /(\bauthorization["']?\s*[:=]\s*["']?(?:bearer|basic|token|digest)?\s*)[^\s"',;]+/gi, keepPrefix: true },
  { re: /(\bbearer\s+)[A-Za-z0-9._~+/=-]+/gi, keepPrefix: true },
  {
    re: /(\b[A-Za-z0-9_.-]*(?:password|passwd|secret|token|api[_-]?key|access[_-]?key|private[_-]?key)["']?\s*[:=]\s*["']?)[^\s"'&,;]+/gi,
    keepPrefix: true,
  },
];

/** Builds a scrubber that replaces the known secret values and common secret patterns with [REDACTED]. */
export function createScrubber(secrets: readonly string[]): (text: string) => string {
  // Longest first, so a secret that contains another is redacted whole.
  const known = [...new Set(secrets)].filter((s) => s.length >= MIN_SECRET_LENGTH).sort((a, b) => b.length - a.length);
  return (text: string): string => {
    let out = text;
    for (const secret of known) out = out.split(secret).join(REDACTED);
    for (const { re, keepPrefix } of PATTERNS) {
      out = out.replace(re, (match: string, prefix: unknown) =>
        keepPrefix && typeof prefix === 'string' ? prefix + REDACTED : match === '' ? match : REDACTED,
      );
    }
    return out;
  };
}
