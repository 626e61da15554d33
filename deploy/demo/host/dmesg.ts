/** The host's `dmesg [-T|--ctime] [--nopager]`: the kernel log the supervisor keeps (NVRM Xid lines); root only, as with dmesg_restrict=1. */
import { control, err, hostContext, isRoot, out, runMain } from './host-env.js';
import { ctime } from './time-format.js';

const { host, controlUrl } = hostContext('dmesg');

async function main(): Promise<number> {
  const argv = process.argv.slice(2);
  const ctimeFormat = argv.some((a) => a === '-T' || a === '--ctime');
  const unknown = argv.find((a) => !['-T', '--ctime', '--nopager', '-P', '-k', '--kernel', '-H', '--human', '-x', '--decode'].includes(a) && !a.startsWith('--level') && !a.startsWith('-l'));
  if (unknown) return (await err(`dmesg: unrecognized option '${unknown}'\nTry 'dmesg --help' for more information.\n`), 1);
  if (!isRoot()) return (await err('dmesg: read kernel buffer failed: Operation not permitted\n'), 1);
  const unreachable = (): never => {
    process.stderr.write('dmesg: read kernel buffer failed: No such device\n');
    process.exit(1);
  };
  const { body } = await control<{ bootedAt: string; lines: { at: string; text: string }[] }>(controlUrl, `/hosts/${host}/kmsg`, {}, unreachable);
  const boot = Date.parse(body.bootedAt);
  const lines = [{ at: body.bootedAt, text: 'NVRM: loading NVIDIA UNIX Open Kernel Module for x86_64  580.159.04  Release Build  (dvs-builder@U22-I3-AF03-09-1)' }, ...body.lines];
  const stamp = (at: string): string => (ctimeFormat ? `[${ctime(new Date(at))}]` : `[${((Date.parse(at) - boot) / 1000 + 4.2).toFixed(6).padStart(12)}]`);
  await out(lines.map((l) => `${stamp(l.at)} ${l.text}\n`).join(''));
  return 0;
}

runMain(main);
