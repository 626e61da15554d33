/** Finds the `sleep` daemons that test/fixtures/scripts/start-daemons.sh starts, by their unique argv, through /proc. */
import { randomInt } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { processGone } from './processes.js';

/** The four escape routes the fixture takes, in the order of their durations base+1 .. base+4. */
export const ESCAPES = ['setsid &', 'double fork', 'set -m', 'setsid -f'] as const;

/** A base duration no other test or earlier run uses (the daemons sleep base+1 .. base+4 seconds). */
export function uniqueBase(): number {
  return 100_000 + randomInt(0, 800_000) * 5;
}

/** The live (not zombie) pids of `sleep base+k` for each escape route, by route name. */
export function liveDaemons(base: number): Map<(typeof ESCAPES)[number], number[]> {
  const found = new Map<(typeof ESCAPES)[number], number[]>();
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    let argv: string[];
    try {
      argv = readFileSync(`/proc/${entry}/cmdline`, 'utf8').split('\0');
    } catch {
      continue;
    }
    if (argv[0] !== 'sleep' || argv.length !== 3) continue;
    const k = Number(argv[1]) - base;
    const route = ESCAPES[k - 1];
    if (route === undefined || processGone(Number(entry))) continue;
    found.set(route, [...(found.get(route) ?? []), Number(entry)]);
  }
  return found;
}

/** Kills what a test left alive on purpose (the escapes of the process-group fallback). */
export function killDaemons(base: number): void {
  for (const pids of liveDaemons(base).values()) for (const pid of pids) process.kill(pid, 'SIGKILL');
}
