/**
 * `npm run rehearse [-- --fault CLASS ...] [--json FILE] [--time-scale F]`: starts Prometheus,
 * Alertmanager, sshd, the simulated fleet, its gateway, client load and remediator with the
 * shipped runbooks enforced, injects each fault class in turn and prints one row per class.
 */
import fs from 'node:fs';
import { parseArgs } from 'node:util';
import { FAULT_CLASSES, faultClass } from './rehearsal/classes.js';
import { rehearseFault, type Episode, type RehearsalRow } from './rehearsal/episode.js';
import { formatTable } from './rehearsal/report.js';
import { restoreFleet } from './rehearsal/restore.js';
import { startStack } from './rehearsal/stack.js';

const USAGE = 'usage: npm run rehearse -- [--fault CLASS]... [--json FILE] [--detail FILE] [--time-scale F] (classes: ' + FAULT_CLASSES.map((c) => c.faultClass).join(', ') + ')';

const WARM_UP_MS = 20_000;

function log(line: string): void {
  process.stderr.write(`${new Date().toISOString().slice(11, 23)} ${line}\n`);
}

async function main(): Promise<number> {
  const { values } = parseArgs({
    options: { fault: { type: 'string', multiple: true }, json: { type: 'string' }, detail: { type: 'string' }, 'time-scale': { type: 'string' }, help: { type: 'boolean' } },
    strict: true,
  });
  if (values.help) {
    process.stdout.write(`${USAGE}\n`);
    return 0;
  }
  const classes = (values.fault ?? []).length > 0 ? (values.fault ?? []).map(faultClass) : FAULT_CLASSES;
  const timeScale = values['time-scale'] === undefined ? 0.1 : Number(values['time-scale']);
  if (!(timeScale > 0 && timeScale <= 1)) throw new Error(`--time-scale must be a number in (0, 1], not ${values['time-scale']}`);
  const stack = await startStack({ timeScale, log, runbooks: [...new Set(FAULT_CLASSES.map((c) => c.runbook))] });
  // Steady load first: every rate window of the rules then starts from a fleet that serves, as in production.
  log(`steady load for ${WARM_UP_MS / 1000}s before the first fault`);
  await new Promise((r) => setTimeout(r, WARM_UP_MS));
  const rows: RehearsalRow[] = [];
  const episodes: Episode[] = [];
  try {
    for (const spec of classes) {
      await restoreFleet(stack);
      const episode = await rehearseFault(stack, spec);
      rows.push(episode.row);
      episodes.push(episode);
      log(`${spec.faultClass}: ${JSON.stringify(episode.row)}`);
    }
  } finally {
    await stack.stop();
  }
  process.stdout.write(`${formatTable(rows)}\n`);
  if (values.json) fs.writeFileSync(values.json, `${JSON.stringify(rows, null, 2)}\n`);
  // Everything each episode saw (runs in full, fleet and gateway events, every client request): for tests and post-mortems.
  if (values.detail) fs.writeFileSync(values.detail, `${JSON.stringify(episodes)}\n`);
  const expected = (r: RehearsalRow): boolean => (r.faultClass === 'gpu-xid' ? r.escalated : r.runState === 'succeeded' && r.verified);
  return rows.every(expected) ? 0 : 1;
}

main().then(
  (code) => process.exit(code),
  (thrown: unknown) => {
    process.stderr.write(`rehearse: ${thrown instanceof Error ? (thrown.stack ?? thrown.message) : String(thrown)}\n`);
    process.exit(1);
  },
);
