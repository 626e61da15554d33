/** The date formats systemd, journalctl, nvidia-smi and dmesg print, in UTC (the fleet's hosts run on UTC). */

const DAYS = ['Sun', 'Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat'];
const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];
const two = (n: number): string => String(n).padStart(2, '0');
const hms = (d: Date): string => `${two(d.getUTCHours())}:${two(d.getUTCMinutes())}:${two(d.getUTCSeconds())}`;

/** systemd's timestamp: `Wed 2026-12-02 13:32:16 UTC`. */
export function systemdTimestamp(iso: string): string {
  const d = new Date(iso);
  return `${DAYS[d.getUTCDay()]} ${d.getUTCFullYear()}-${two(d.getUTCMonth() + 1)}-${two(d.getUTCDate())} ${hms(d)} UTC`;
}

/** systemd's "ago" span: `3min 2s`, `1h 5min`, `480ms`. */
export function systemdSpan(ms: number): string {
  if (ms < 1000) return `${Math.max(0, Math.round(ms))}ms`;
  const s = Math.floor(ms / 1000);
  const parts: string[] = [];
  const d = Math.floor(s / 86400);
  const h = Math.floor((s % 86400) / 3600);
  const m = Math.floor((s % 3600) / 60);
  if (d) parts.push(`${d} day${d > 1 ? 's' : ''}`);
  if (h) parts.push(`${h}h`);
  if (m) parts.push(`${m}min`);
  if (!d && !h && s % 60) parts.push(`${s % 60}s`);
  return parts.join(' ') || '0s';
}

/** journalctl's default (short): `Dec 02 13:32:16`. */
export function journalShort(iso: string): string {
  const d = new Date(iso);
  return `${MONTHS[d.getUTCMonth()]} ${two(d.getUTCDate())} ${hms(d)}`;
}

/** journalctl --output=short-iso: `2026-12-02T13:32:16+00:00`. */
export function journalShortIso(iso: string): string {
  return `${iso.slice(0, 19)}+00:00`;
}

/** journalctl --output=short-precise: `Dec 02 13:32:16.123456`. */
export function journalShortPrecise(iso: string): string {
  return `${journalShort(iso)}.${iso.slice(20, 23)}000`;
}

/** C's ctime (nvidia-smi's banner, dmesg --ctime): `Wed Dec  2 13:32:16 2026`. */
export function ctime(date: Date): string {
  return `${DAYS[date.getUTCDay()]} ${MONTHS[date.getUTCMonth()]} ${String(date.getUTCDate()).padStart(2, ' ')} ${hms(date)} ${date.getUTCFullYear()}`;
}

/** nvidia-smi's CSV timestamp: `2026/11/26 15:34:09.218`. */
export function nvidiaTimestamp(date: Date): string {
  return `${date.getUTCFullYear()}/${two(date.getUTCMonth() + 1)}/${two(date.getUTCDate())} ${hms(date)}.${String(date.getUTCMilliseconds()).padStart(3, '0')}`;
}
