/** The host's `systemctl` for vllm@MODEL units: start, stop, restart, is-active, is-failed, status, show, list-units, daemon-reload. */
import type { JournalEntry, UnitActionResult, UnitView } from '../fleet/api-types.js';
import { control, err, hostContext, isRoot, out, runMain } from './host-env.js';
import { notFoundProperties, showProperties, statusText } from './systemd-render.js';

const { host, controlUrl } = hostContext('systemctl');

interface Options {
  quiet: boolean;
  value: boolean;
  lines: number;
  properties: string[];
  command: string;
  units: string[];
}

function parse(argv: string[]): Options | string {
  const o: Options = { quiet: false, value: false, lines: 10, properties: [], command: '', units: [] };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i] ?? '';
    const [flag, inline] = a.startsWith('--') ? (a.split(/=(.*)/s, 2) as [string, string | undefined]) : [a, undefined];
    const next = (): string => inline ?? argv[++i] ?? '';
    if (flag === '--quiet' || flag === '-q') o.quiet = true;
    else if (flag === '--value') o.value = true;
    else if (flag === '--lines' || flag === '-n') o.lines = Number(next());
    else if (/^-n\d+$/.test(flag)) o.lines = Number(flag.slice(2));
    else if (flag === '--property' || flag === '-p') o.properties.push(...next().split(','));
    else if (['--no-pager', '--no-legend', '--plain', '--full', '-l', '--system', '--no-block', '--no-ask-password', '--all', '-a'].includes(flag)) continue;
    else if (flag.startsWith('-')) return `systemctl: unrecognized option '${a}'`;
    else if (o.command === '') o.command = a;
    else o.units.push(a);
  }
  return o;
}

const withSuffix = (u: string): string => (/\.[a-z]+$/.test(u) && !/^vllm@[^.]*$/.test(u) ? u : `${u}.service`);
const globRegex = (g: string): RegExp => new RegExp(`^${g.replace(/[.+^${}()|\\]/g, '\\$&').replace(/\*/g, '.*').replace(/\?/g, '.')}$`);

async function hostUnits(): Promise<UnitView[]> {
  const answer = await control<UnitView[]>(controlUrl, `/units/${host}`, {}, busDown);
  return answer.body;
}

function busDown(): never {
  process.stderr.write('Failed to connect to bus: No such file or directory\n');
  process.exit(1);
}

/** The units named: a glob matches loaded units only; a plain name is kept even when unknown (for the error). */
async function resolve(names: string[]): Promise<{ name: string; view: UnitView | undefined }[]> {
  const known = await hostUnits();
  const byName = new Map(known.map((u) => [`${u.unit}.service`, u]));
  return names.flatMap((raw) => {
    const name = withSuffix(raw);
    if (/[*?[]/.test(name)) return known.filter((u) => globRegex(name).test(`${u.unit}.service`)).map((u) => ({ name: `${u.unit}.service`, view: u }));
    return [{ name, view: byName.get(name) }];
  });
}

async function act(o: Options): Promise<number> {
  const verb = o.command;
  if (o.units.length === 0) return (await err(`Too few arguments.\n`), 1);
  const units = await resolve(o.units);
  if (!isRoot()) {
    const first = units[0]?.name ?? withSuffix(o.units[0] ?? '');
    await err(`Failed to ${verb} ${first}: Interactive authentication required.\nSee system logs and 'systemctl status ${first}' for details.\n`);
    return 1;
  }
  const results = await Promise.all(
    units.map(async ({ name, view }) => {
      if (!view) return `Failed to ${verb} ${name}: Unit ${name} ${verb === 'stop' ? 'not loaded' : 'not found'}.\n`;
      const answer = await control<UnitActionResult>(controlUrl, `/units/${host}/${view.unit}/${verb}`, { method: 'POST' }, busDown);
      if (answer.body.ok) return '';
      return `Job for ${name} failed because of unavailable resources or another system error.\nSee "systemctl status ${name}" and "journalctl -xeu ${name}" for details.\n`;
    }),
  );
  const failures = results.filter((r) => r !== '');
  await err(failures.join(''));
  if (failures.length === 0) return 0;
  return failures.some((f) => f.includes('not found') || f.includes('not loaded')) ? 5 : 1;
}

async function isState(o: Options, wanted: 'active' | 'failed'): Promise<number> {
  const units = await resolve(o.units);
  const states = units.map((u) => u.view?.activeState ?? 'inactive');
  if (!o.quiet) await out(states.map((s) => `${s}\n`).join(''));
  if (states.some((s) => s === wanted)) return 0;
  return wanted === 'active' ? 3 : 1;
}

async function status(o: Options): Promise<number> {
  const units = o.units.length === 0 ? (await hostUnits()).map((u) => ({ name: `${u.unit}.service`, view: u as UnitView | undefined })) : await resolve(o.units);
  const texts: string[] = [];
  let code = 0;
  for (const { name, view } of units) {
    if (!view) {
      await err(`Unit ${name} could not be found.\n`);
      code = 4;
      continue;
    }
    const journal = o.lines > 0 ? (await control<{ entries: JournalEntry[] }>(controlUrl, `/units/${host}/${view.unit}/journal?lines=${o.lines}`, {}, busDown)).body.entries : [];
    texts.push(statusText(view, host, journal));
    if (view.activeState !== 'active' && code === 0) code = 3;
  }
  await out(texts.join('\n'));
  return code;
}

async function show(o: Options): Promise<number> {
  const units = await resolve(o.units);
  const blocks: string[] = [];
  for (const { name, view } of units) {
    const props = view ? (await control<Record<string, string | number | null>>(controlUrl, `/units/${host}/${view.unit}`, {}, busDown)).body : notFoundProperties(name);
    delete props.view;
    const pairs = showProperties(props).filter(([k]) => o.properties.length === 0 || o.properties.includes(k));
    blocks.push(pairs.map(([k, v]) => (o.value ? `${v}\n` : `${k}=${v}\n`)).join(''));
  }
  await out(blocks.join('\n'));
  return 0;
}

async function listUnits(o: Options): Promise<number> {
  const all = await hostUnits();
  const pattern = o.units[0] ? globRegex(withSuffix(o.units[0])) : null;
  const rows = all.filter((u) => !pattern || pattern.test(`${u.unit}.service`));
  const width = Math.max(4, ...rows.map((u) => u.unit.length + 8));
  const line = (a: string, b: string, c: string, d: string, e: string): string => `  ${a.padEnd(width)} ${b.padEnd(6)} ${c.padEnd(6)} ${d.padEnd(7)} ${e}\n`;
  const body = rows.map((u) => line(`${u.unit}.service`, 'loaded', u.activeState, u.subState, `vLLM OpenAI server for ${u.model}`)).join('');
  await out(line('UNIT', 'LOAD', 'ACTIVE', 'SUB', 'DESCRIPTION') + body + `\n${rows.length} loaded units listed.\n`);
  return 0;
}

async function main(): Promise<number> {
  const o = parse(process.argv.slice(2));
  if (typeof o === 'string') return (await err(`${o}\n`), 1);
  switch (o.command) {
    case 'start':
    case 'stop':
    case 'restart':
      return act(o);
    case 'is-active':
      return isState(o, 'active');
    case 'is-failed':
      return isState(o, 'failed');
    case 'status':
      return status(o);
    case 'show':
      return show(o);
    case 'list-units':
      return listUnits(o);
    case 'daemon-reload':
      if (isRoot()) return 0;
      return (await err('Failed to reload daemon: Interactive authentication required.\n'), 1);
    case '':
      return listUnits(o);
    default:
      return (await err(`Unknown command verb '${o.command}'.\n`), 1);
  }
}

runMain(main);
