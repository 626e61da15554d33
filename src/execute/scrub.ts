/** Redaction of secrets in command output, applied before output is stored or logged. */

const REDACTED = '[REDACTED]';

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

/**
 * Scrubs text of every secret remediator has read (the config's secret files, and each http
 * header file as it is read) and of common secret patterns. One scrubber serves a whole
 * replica, so a secret read by one step is scrubbed from every later step's output.
 */
export interface Scrubber {
  /** `truncated`: the text was cut at the output cap, so a secret cut there is redacted too. */
  (text: string, truncated?: boolean): string;
  /** Adds secrets read later; they are scrubbed from all output from now on. */
  add(secrets: readonly string[]): void;
}

/** The start of a secret the text ends with, as output cut at its cap would: its length, or 0. */
function cutSecretLength(text: string, secrets: readonly string[]): number {
  // A character cut at the cap is decoded as U+FFFD; the secret's cut start is just before it.
  const end = text.endsWith('\uFFFD') ? text.length - 1 : text.length;
  let longest = 0;
  for (const secret of secrets) {
    const first = secret.charAt(0);
    // The earliest start is the longest cut secret; a whole one was already replaced.
    for (let p = text.indexOf(first, Math.max(0, end - secret.length + 1)); p >= 0 && end - p > longest; p = text.indexOf(first, p + 1)) {
      if (secret.startsWith(text.slice(p, end))) {
        longest = end - p;
        break;
      }
    }
  }
  return longest === 0 ? 0 : longest + (text.length - end);
}

/** Builds a scrubber that replaces the known secret values, whatever their length, and common secret patterns with [REDACTED]. */
export function createScrubber(secrets: readonly string[]): Scrubber {
  const known = new Set<string>();
  // Longest first, so a secret that contains another is redacted whole.
  let ordered: string[] = [];
  const add = (values: readonly string[]): void => {
    const before = known.size;
    for (const v of values) if (v !== '') known.add(v);
    if (known.size !== before) ordered = [...known].sort((a, b) => b.length - a.length);
  };
  add(secrets);
  const scrub = (text: string, truncated = false): string => {
    let out = text;
    // Patterns first: a short known secret replaced inside a token would break the token's pattern and leave the rest of it.
    for (const { re, keepPrefix } of PATTERNS) {
      out = out.replace(re, (match: string, prefix: unknown) =>
        keepPrefix && typeof prefix === 'string' ? prefix + REDACTED : match === '' ? match : REDACTED,
      );
    }
    for (const secret of ordered) out = out.split(secret).join(REDACTED);
    if (truncated) {
      const cut = cutSecretLength(out, ordered);
      if (cut > 0) out = out.slice(0, out.length - cut) + REDACTED;
    }
    return out;
  };
  return Object.assign(scrub, { add });
}
