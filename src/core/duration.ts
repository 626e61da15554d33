/** Prometheus-style durations ("90s", "5m", "1h30m", "30d", "250ms") to milliseconds. */

const UNIT_MS: Record<string, number> = {
  ms: 1,
  s: 1000,
  m: 60_000,
  h: 3_600_000,
  d: 86_400_000,
  w: 604_800_000,
  y: 31_536_000_000,
};

const DURATION_RE = /^(?:(\d+)y)?(?:(\d+)w)?(?:(\d+)d)?(?:(\d+)h)?(?:(\d+)m)?(?:(\d+)s)?(?:(\d+)ms)?$/;
const ORDER = ['y', 'w', 'd', 'h', 'm', 's', 'ms'] as const;

/** Parses a duration; returns null when the text is not a Prometheus duration. "0" and "0s" are zero. */
export function parseDuration(text: string): number | null {
  if (text === '0') return 0;
  const m = DURATION_RE.exec(text);
  if (!m || text === '') return null;
  let total = 0;
  ORDER.forEach((unit, i) => {
    const v = m[i + 1];
    if (v !== undefined) total += Number(v) * (UNIT_MS[unit] ?? 0);
  });
  return total;
}

/** Formats milliseconds as the shortest Prometheus duration ("1h30m", "250ms", "0s"). */
export function formatDuration(ms: number): string {
  if (ms <= 0) return '0s';
  let rest = Math.round(ms);
  let out = '';
  for (const unit of ORDER) {
    const size = UNIT_MS[unit] ?? 1;
    const n = Math.floor(rest / size);
    if (n > 0) {
      out += `${n}${unit}`;
      rest -= n * size;
    }
  }
  return out;
}
