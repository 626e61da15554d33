/**
 * `npm run bench`: runs every benchmark of SPEC §12 against the built service (dist/) and prints, per target, the
 * measured value, the target and whether it was met. It never fails on a missed target; it exits 1 only when a
 * benchmark crashed. Name benchmarks as arguments to run only those: webhook, first-step, matching, list-runs, memory,
 * ingest.
 */

import os from 'node:os';

const BENCHES = {
  webhook: { title: '1. webhook acknowledgement and throughput', load: async () => (await import('./webhook.mjs')).benchWebhook },
  'first-step': { title: '2. alert received -> first step process started', load: async () => (await import('./first-step.mjs')).benchFirstStep },
  matching: { title: '3. matching 10,000 alerts against 1,000 runbooks', load: async () => (await import('./matching.mjs')).benchMatching },
  'list-runs': { title: '4. GET /api/v1/runs on 1,000,000 runs', load: async () => (await import('./list-runs.mjs')).benchListRuns },
  memory: { title: '5. RSS with 1,000 active runs', load: async () => (await import('./memory.mjs')).benchMemory },
  ingest: { title: '6. ingest per kind of delivery, SQLite and PostgreSQL, against bare Express', load: async () => (await import('./ingest.mjs')).benchIngest },
};

const log = (line) => process.stdout.write(`${line}\n`);

function pad(text, width) {
  return text.length >= width ? text : text + ' '.repeat(width - text.length);
}

function table(rows) {
  const head = ['target', 'measured', 'goal', 'met', 'notes'];
  const cells = rows.map((r) => [r.target, r.measured, r.goal, r.met === null ? 'n/a' : r.met ? 'yes' : 'NO', r.note]);
  const widths = head.map((h, i) => Math.max(h.length, ...cells.map((c) => c[i].length)));
  const line = (c) => c.map((v, i) => pad(v, widths[i])).join('  ').trimEnd();
  return [line(head), line(widths.map((w) => '-'.repeat(w))), ...cells.map(line)].join('\n');
}

async function main() {
  const wanted = process.argv.slice(2);
  const unknown = wanted.filter((w) => !(w in BENCHES));
  if (unknown.length > 0) {
    log(`unknown benchmark(s): ${unknown.join(', ')}; known: ${Object.keys(BENCHES).join(', ')}`);
    return 2;
  }
  const names = wanted.length > 0 ? wanted : Object.keys(BENCHES);
  log(`remediator benchmarks (SPEC §12) on ${os.cpus().length} x ${os.cpus()[0]?.model ?? 'cpu'}, node ${process.version}, ${os.platform()}`);
  const rows = [];
  let crashed = 0;
  const started = Date.now();
  for (const name of names) {
    const bench = BENCHES[name];
    // Other work on the machine skews every figure here; the load average says how much there was.
    log(`\n== ${bench.title} (load average ${os.loadavg().map((l) => l.toFixed(2)).join(' ')})`);
    const t0 = Date.now();
    try {
      const run = await bench.load();
      rows.push(...(await run(log)));
    } catch (err) {
      crashed += 1;
      log(`  CRASHED: ${err instanceof Error ? err.stack : String(err)}`);
      // A benchmark may hand over the rows it did measure before it crashed.
      if (Array.isArray(err?.rows)) rows.push(...err.rows);
      rows.push({ target: name, measured: 'crashed', goal: '', met: null, note: err instanceof Error ? err.message.split('\n')[0] : String(err) });
    }
    log(`  (${((Date.now() - t0) / 1000).toFixed(1)} s)`);
  }
  log(`\n== summary (${((Date.now() - started) / 1000).toFixed(0)} s in all)\n`);
  log(table(rows));
  return crashed > 0 ? 1 : 0;
}

process.exitCode = await main();
