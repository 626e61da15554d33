/**
 * The host's `nvidia-smi`: the default table, `-L`, `--query-gpu`/`--query-compute-apps` CSV,
 * `-q [-x] [-d ...]`, and `-r`/`--gpu-reset -i N`, over the GPUs the supervisor simulates.
 */
import path from 'node:path';
import type { GpuResetResult, GpuView } from '../fleet/api-types.js';
import { repoRoot } from '../fleet/paths.js';
import { control, err, hostContext, isRoot, out, runMain } from './host-env.js';
import { parseFormat, queryComputeApps, queryGpu, QueryError } from './nvidia-smi-csv.js';
import { DISPLAY_SECTIONS, queryText } from './nvidia-smi-q.js';
import { defaultTable, listGpus } from './nvidia-smi-table.js';
import { queryXml } from './nvidia-smi-xml.js';

const { host, controlUrl } = hostContext('nvidia-smi');
const INVALID = "Invalid combination of input arguments. Please run 'nvidia-smi -h' for help.\n";

interface Options {
  list: boolean;
  query: boolean;
  xml: boolean;
  reset: boolean;
  help: boolean;
  ids: string | undefined;
  display: string[];
  queryGpu: string | undefined;
  queryApps: string | undefined;
  format: string | undefined;
}

function parse(argv: string[]): Options | null {
  const o: Options = { list: false, query: false, xml: false, reset: false, help: false, ids: undefined, display: [], queryGpu: undefined, queryApps: undefined, format: undefined };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i] ?? '';
    const [flag, inline] = a.startsWith('--') ? (a.split(/=(.*)/s, 2) as [string, string | undefined]) : [a, undefined];
    const next = (): string => inline ?? argv[++i] ?? '';
    if (flag === '-L' || flag === '--list-gpus') o.list = true;
    else if (flag === '-q' || flag === '--query') o.query = true;
    else if (flag === '-x' || flag === '--xml-format') o.xml = true;
    else if (flag === '-r' || flag === '--gpu-reset') o.reset = true;
    else if (flag === '-h' || flag === '--help') o.help = true;
    else if (flag === '-i' || flag === '--id') o.ids = next();
    else if (flag === '-d' || flag === '--display') o.display.push(...next().split(',').map((d) => d.trim().toUpperCase()));
    else if (flag === '--query-gpu') o.queryGpu = next();
    else if (flag === '--query-compute-apps') o.queryApps = next();
    else if (flag === '--format') o.format = next();
    else return null;
  }
  return o;
}

/** The GPUs -i names (index, UUID or PCI bus id; comma separated), all without -i; null when one is unknown. */
function select(gpus: GpuView[], ids: string | undefined): GpuView[] | null {
  if (ids === undefined) return gpus;
  const picked: GpuView[] = [];
  for (const id of ids.split(',').map((s) => s.trim())) {
    const g = gpus.find((x) => String(x.index) === id || x.uuid === id || x.pciBusId.toLowerCase() === id.toLowerCase() || x.pciBusId.toLowerCase().endsWith(id.toLowerCase()));
    if (!g) return null;
    picked.push(g);
  }
  return picked;
}

function driverGone(): never {
  process.stdout.write("NVIDIA-SMI has failed because it couldn't communicate with the NVIDIA driver. Make sure that the latest NVIDIA driver is installed and running.\n\n");
  process.exit(9);
}

async function reset(gpus: GpuView[]): Promise<number> {
  let code = 0;
  for (const g of gpus) {
    if (!isRoot()) {
      await out(`Unable to reset GPU ${g.pciBusId}: Insufficient Permissions\n`);
      code = 4;
      continue;
    }
    const { body } = await control<GpuResetResult>(controlUrl, `/gpus/${host}/${g.index}/reset`, { method: 'POST' }, driverGone);
    await out(`${body.message}\n`);
    if (!body.ok) code = body.exitCode;
  }
  return code;
}

async function main(): Promise<number> {
  const o = parse(process.argv.slice(2));
  if (o === null) return (await out(INVALID), 2);
  if (o.help) return (await out('NVIDIA System Management Interface -- v580.159.04\n\nNVSMI provides monitoring information for Tesla and select Quadro devices.\n'), 0);
  const all = (await control<GpuView[]>(controlUrl, `/gpus/${host}`, {}, driverGone)).body;
  const gpus = select(all, o.ids);
  if (gpus === null) return (await out('No devices were found\n'), 6);
  try {
    if (o.reset) return o.ids === undefined ? (await out(INVALID), 2) : reset(gpus);
    if (o.queryGpu !== undefined) return (await out(queryGpu(gpus, o.queryGpu, parseFormat(o.format))), 0);
    if (o.queryApps !== undefined) return (await out(queryComputeApps(gpus, o.queryApps, parseFormat(o.format))), 0);
  } catch (thrown) {
    if (thrown instanceof QueryError) return (await out(`${thrown.message}\n`), 2);
    throw thrown;
  }
  if (o.list) return (await out(listGpus(gpus)), 0);
  if (o.query) {
    const unknown = o.display.find((d) => !(DISPLAY_SECTIONS as readonly string[]).includes(d));
    if (unknown !== undefined) return (await err(`Invalid display type "${unknown}".\n`), 2);
    if (o.xml) return (await out(queryXml(gpus, all.length, path.join(repoRoot(import.meta.url), 'deploy', 'demo', 'host', 'nvidia-smi-q.xml'))), 0);
    return (await out(queryText(gpus, all.length, o.display)), 0);
  }
  if (o.xml || o.display.length > 0) return (await out(INVALID), 2);
  return (await out(defaultTable(gpus)), 0);
}

runMain(main);
