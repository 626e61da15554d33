/** The host's `journalctl -u UNIT [-n N] [--no-pager] [--output=short|short-iso|short-precise|cat|json] [--since TIME]`. */
import type { JournalEntry } from '../fleet/api-types.js';
import { control, err, hostContext, out, runMain } from './host-env.js';
import { journalLine } from './systemd-render.js';

const { host, controlUrl } = hostContext('journalctl');
const OUTPUTS = ['short', 'short-iso', 'short-precise', 'cat', 'json'];

interface Options {
  units: string[];
  lines: number | undefined;
  output: string;
  since: number | undefined;
  quiet: boolean;
}

function parseSince(text: string): number | undefined {
  const ago = /^-?(\d+)\s*(s|sec|min|m|h|hour|hours)( ago)?$/.exec(text.trim());
  if (ago) return Date.now() - Number(ago[1]) * ({ s: 1, sec: 1, min: 60, m: 60, h: 3600, hour: 3600, hours: 3600 }[ago[2] as 's'] ?? 1) * 1000;
  const parsed = Date.parse(/^\d{4}-\d\d-\d\d \d/.test(text) ? `${text.replace(' ', 'T')}Z` : text);
  return Number.isNaN(parsed) ? undefined : parsed;
}

function parse(argv: string[]): Options | string {
  const o: Options = { units: [], lines: undefined, output: 'short', since: undefined, quiet: false };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i] ?? '';
    const [flag, inline] = a.startsWith('--') ? (a.split(/=(.*)/s, 2) as [string, string | undefined]) : [a, undefined];
    const next = (): string => inline ?? argv[++i] ?? '';
    if (flag === '-u' || flag === '--unit') o.units.push(next());
    else if (/^-u.+/.test(flag)) o.units.push(flag.slice(2));
    else if (flag === '-n' || flag === '--lines') {
      // -n without a number means 10, as in journalctl.
      const peek = inline ?? argv[i + 1];
      if (peek !== undefined && /^\d+$/.test(peek)) {
        o.lines = Number(peek);
        if (inline === undefined) i++;
      } else o.lines = 10;
    } else if (/^-n\d+$/.test(flag)) o.lines = Number(flag.slice(2));
    else if (flag === '-o' || flag === '--output') o.output = next();
    else if (flag === '-e' || flag === '--pager-end') o.lines ??= 1000;
    else if (flag === '-q' || flag === '--quiet') o.quiet = true;
    else if (flag === '-S' || flag === '--since') {
      const raw = next();
      o.since = parseSince(raw);
      if (o.since === undefined) return `Failed to parse timestamp: ${raw}`;
    } else if (['--no-pager', '-x', '--catalog', '-b', '--boot', '--no-hostname', '--utc', '-a', '--all'].includes(flag)) continue;
    else return `journalctl: unrecognized option '${a}'`;
  }
  if (!OUTPUTS.includes(o.output)) return `Unknown output format '${o.output}'.`;
  return o;
}

async function main(): Promise<number> {
  const o = parse(process.argv.slice(2));
  if (typeof o === 'string') return (await err(`${o}\n`), 1);
  const unreachable = (): never => {
    process.stderr.write('No journal files were found.\n');
    process.exit(1);
  };
  const entries: JournalEntry[] = [];
  for (const unit of o.units.map((u) => u.replace(/\.service$/, ''))) {
    const answer = await control<{ entries: JournalEntry[] }>(controlUrl, `/units/${host}/${encodeURIComponent(unit)}/journal`, {}, unreachable);
    // journalctl -u for a unit systemd does not know prints no entries, not an error.
    if (answer.status === 200) entries.push(...answer.body.entries);
  }
  let shown = entries.sort((a, b) => a.at.localeCompare(b.at)).filter((e) => o.since === undefined || Date.parse(e.at) >= o.since);
  if (o.lines !== undefined) shown = shown.slice(Math.max(0, shown.length - o.lines));
  if (shown.length === 0) return (await out(o.quiet ? '' : '-- No entries --\n'), 0);
  const text =
    o.output === 'json'
      ? shown.map((e) => JSON.stringify({ __REALTIME_TIMESTAMP: String(Date.parse(e.at) * 1000), _HOSTNAME: host, SYSLOG_IDENTIFIER: e.ident, _PID: String(e.pid), MESSAGE: e.message })).join('\n')
      : shown.map((e) => journalLine(e, host, o.output)).join('\n');
  await out(`${text}\n`);
  return 0;
}

runMain(main);
