/**
 * Benchmark 6, ingest: what the webhook path costs per kind of delivery, on SQLite and then on PostgreSQL, in one run,
 * against a bare Express 5 handler on the same machine:
 *   (a) closed-loop throughput of non-matching, duplicate and run-creating deliveries, each as a ratio to bare Express,
 *       in alternating rounds (webhook.mjs's approach);
 *   (b) the acknowledgement time of one 5,000-alert group body, first delivery and its identical repeat;
 *   (c) acknowledgement p99 at a fixed 500 deliveries/s, open loop.
 * The service is the real CLI in its own process; closed and open loads come from load-gen.mjs in another process.
 * PostgreSQL is a private cluster started here (postgres.mjs), fsync and synchronous_commit on, one fresh database.
 */

import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { episodeBody, groupBody, loadFixture, probeRunbook } from './alerts.mjs';
import { cpuSeconds, delay, httpClient, ms, nowMs, quantile, removeDir, REPO_ROOT, result, runNodeJson, startBareExpress, startService, tempDir, TOKEN } from './lib.mjs';
import { startPostgres } from './postgres.mjs';

const HERE = path.dirname(fileURLToPath(import.meta.url));
const LOAD_GEN = path.join(HERE, 'load-gen.mjs');
const DUPLICATES = 50;
const ROUNDS = 3;
const CLOSED = { connections: 32, warmupMs: 500, durationMs: 2000 };
// drainMs: an overloaded service's backlog is cut off 2 s after the last send instead of drained (load-gen.mjs).
const OPEN = { rate: 500, warmupMs: 1000, durationMs: 6000, connections: 64, drainMs: 2000 };
const GROUP_ALERTS = 5000;
const GROUP_REPS = 3;
/** No runbook matches this alertname. */
const UNMATCHED = 'BenchNoRunbookMatches';
/** The shadow runbook of the group bodies matches this one. */
const GROUP_ALERTNAME = 'ProbeGroupFlag';
const CONFIG = 'limits: { maxConcurrentRuns: 16, maxRunStartsPerMinute: 1000000, bodyLimitBytes: 8388608 }';

/** Runs the load generator against a server; adds the server's CPU seconds over the run. */
async function load(server, mode, extra) {
  const before = cpuSeconds(server.pid);
  const r = await runNodeJson(LOAD_GEN, { url: `${server.baseUrl}/api/v1/alerts`, token: TOKEN, mode, dupCount: DUPLICATES, newEvery: 20, ...extra });
  return { ...r, serverCpuS: cpuSeconds(server.pid) - before };
}

/** Every request answered 200, none lost. */
function clean(r) {
  return r.measured > 0 && r.errors === 0 && Object.keys(r.statuses).every((c) => c === '200');
}

function describe(label, r) {
  const codes = Object.entries(r.statuses).map(([c, n]) => `${c}x${n}`).join(' ');
  const rate = r.throughput === null ? `${r.sent} sent, ${r.newEpisodes} of them new episodes` : `${r.throughput.toFixed(0)} requests/s`;
  const lag = r.sendLagP99 === undefined || r.throughput !== null ? '' : `, generator send lag p99 ${ms(r.sendLagP99)}`;
  const cut = r.censored > 0 ? `, ${r.censored} still unanswered ${OPEN.drainMs / 1000} s after the last send (cut off; counted at their lower bound)` : '';
  const cpu = `server CPU ${((r.serverCpuS / r.sent) * 1e6).toFixed(0)} us/request`;
  return `${label}: ${rate}; p50 ${ms(r.p50)}, p99 ${ms(r.p99)}, max ${ms(r.max)}${lag}${cut}; HTTP ${codes}${r.errors ? `, ${r.errors} connection errors` : ''}; ${cpu}`;
}

/** POSTs one body; resolves to { status, body, ms } (ms: from just before the send to the end of the answer). */
async function post(client, body) {
  const t0 = nowMs();
  const res = await client.request('POST', '/api/v1/alerts', body);
  const elapsed = nowMs() - t0;
  let parsed = null;
  try {
    parsed = JSON.parse(res.text);
  } catch {
    // An error page; the status says enough.
  }
  return { status: res.status, body: parsed, text: res.text, ms: elapsed };
}

/**
 * Delivers the repeated episodes once (so that the measured repeats are duplicates of episodes holding runs), and
 * checks that each kind of delivery is decided as its name says before any of it is measured.
 */
async function seedAndCheck(baseUrl) {
  const client = httpClient(baseUrl, 4);
  const fixture = loadFixture();
  const expect = async (what, body, runs) => {
    const r = await post(client, body);
    if (r.status !== 200 || r.body?.runs?.length !== runs) throw new Error(`${what}: expected HTTP 200 with ${runs} run(s), got ${r.status} ${r.text.slice(0, 300)}`);
  };
  try {
    for (let i = 0; i < DUPLICATES; i++) await expect(`seeding episode ${i}`, episodeBody(fixture, 'dup', i), 1);
    await expect('a duplicate', episodeBody(fixture, 'dup', 0), 0);
    await expect('a non-matching alert', episodeBody(fixture, 'check', 0, UNMATCHED), 0);
  } finally {
    client.close();
  }
}

/** Waits until the service has no pending or running run left, so that one round's runs do not slow the next. */
async function settle(baseUrl, log) {
  const client = httpClient(baseUrl, 1);
  const t0 = Date.now();
  try {
    for (;;) {
      let busy = false;
      for (const state of ['pending', 'running']) {
        const res = await client.request('GET', `/api/v1/runs?state=${state}&limit=1`);
        busy ||= res.status !== 200 || JSON.parse(res.text).runs.length > 0;
      }
      if (!busy) return;
      if (Date.now() - t0 > 30_000) {
        log('    (runs still pending or running after 30 s of waiting; going on)');
        return;
      }
      await delay(100);
    }
  } finally {
    client.close();
  }
}

/** Closed-loop throughput of each configuration in alternating rounds; resolves to the median of each and whether all were clean. */
async function alternatingThroughput(configs, log) {
  const seen = configs.map(() => []);
  const ok = configs.map(() => true);
  for (let round = 0; round < ROUNDS; round++) {
    for (const [i, c] of configs.entries()) {
      const r = await load(c.server, 'closed', { ...CLOSED, prefix: `${c.key}-${round}`, ...c.extra });
      seen[i].push(r.throughput);
      ok[i] &&= clean(r);
      await c.settle?.();
      if (round === ROUNDS - 1) log(describe(`    ${c.label} (round ${round + 1} of ${ROUNDS})`, r));
    }
  }
  return seen.map((values, i) => ({ median: quantile(values, 0.5), all: values, ok: ok[i] }));
}

/** (b): the 5,000-alert group body, first delivery then its identical repeat, GROUP_REPS times with fresh alerts. */
async function groupDeliveries(baseUrl, key, log) {
  const client = httpClient(baseUrl, 1);
  const fixture = loadFixture();
  const first = [];
  const repeat = [];
  try {
    // Warms the group path (the shadow runbook, big bodies) so the first measured delivery is not also the first JIT pass.
    const warm = await post(client, groupBody(fixture, `${key}-group-warm`, 200, GROUP_ALERTNAME));
    if (warm.status !== 200) throw new Error(`warm-up group: HTTP ${warm.status} ${warm.text.slice(0, 300)}`);
    for (let rep = 0; rep < GROUP_REPS; rep++) {
      const body = groupBody(fixture, `${key}-group-${rep}`, GROUP_ALERTS, GROUP_ALERTNAME);
      const a = await post(client, body);
      if (a.status !== 200 || a.body?.runs?.length !== GROUP_ALERTS) throw new Error(`group ${rep}, first delivery: expected ${GROUP_ALERTS} runs, got HTTP ${a.status} ${a.text.slice(0, 300)}`);
      const b = await post(client, body);
      if (b.status !== 200 || b.body?.runs?.length !== 0) throw new Error(`group ${rep}, repeat: expected 0 runs, got HTTP ${b.status} ${b.text.slice(0, 300)}`);
      first.push(a.ms);
      repeat.push(b.ms);
    }
  } finally {
    client.close();
  }
  const list = (values) => values.map((v) => ms(v)).join(', ');
  log(`    ${GROUP_ALERTS}-alert group body (${(groupBody(fixture, 'size', GROUP_ALERTS, GROUP_ALERTNAME).length / 1e6).toFixed(1)} MB), ${GROUP_REPS} times with fresh alerts: first delivery ${list(first)}; identical repeat ${list(repeat)}`);
  return { first: quantile(first, 0.5), repeat: quantile(repeat, 0.5) };
}

/** All of (a), (b) and (c) on one store; returns its rows. */
async function benchStore(store, bare, floor, log) {
  const dir = tempDir(`ingest-${store.key}`);
  const runbooks = {
    'probe-restart.yaml': probeRunbook('probe-restart', ['{ name: restart, run: [/bin/true], timeout: 10s }']),
    // Shadow: the group's 5,000 runs are made and recorded (state shadow, with their plan) but none is executed (README).
    'probe-group.yaml': probeRunbook('probe-group', ['{ name: restart, run: [/bin/true], timeout: 10s }'], 'mode: shadow', GROUP_ALERTNAME),
  };
  const storeUrl = store.databaseUrl ? await store.databaseUrl() : undefined;
  const service = await startService(dir, runbooks, CONFIG, storeUrl).catch((err) => {
    removeDir(dir);
    throw err;
  });
  const f = store.factor;
  try {
    await seedAndCheck(service.baseUrl);
    await settle(service.baseUrl, log);

    const open = await load(service, 'open', { ...OPEN, prefix: `${store.key}-open` });
    log(describe(`    open loop ${OPEN.rate}/s for ${OPEN.durationMs / 1000} s, 1 in 20 a new episode`, open));
    await settle(service.baseUrl, log);

    const [unmatched, dups, creating, base] = await alternatingThroughput(
      [
        { key: `${store.key}-nomatch`, label: 'non-matching, every alert a new episode', server: service, extra: { newEvery: 1, alertname: UNMATCHED } },
        { key: `${store.key}-dups`, label: 'duplicates of held episodes', server: service, extra: { newEvery: 0 } },
        {
          key: `${store.key}-runs`,
          label: 'run-creating, every alert a new episode on a new target',
          server: service,
          extra: { newEvery: 1 },
          settle: () => settle(service.baseUrl, log),
        },
        // The generator makes a fresh body per request here too, so it spends what it spends for the new-episode kinds.
        { key: 'bare', label: 'bare Express 5 + express.json()', server: bare, extra: { newEvery: 1 } },
      ],
      log,
    );
    const rounds = (t) => t.all.map((v) => v.toFixed(0)).join('/');
    log(
      `    medians of ${ROUNDS} rounds: non-matching ${unmatched.median.toFixed(0)}/s (${rounds(unmatched)}), duplicates ${dups.median.toFixed(0)}/s (${rounds(dups)}), ` +
        `run-creating ${creating.median.toFixed(0)}/s (${rounds(creating)}), bare Express ${base.median.toFixed(0)}/s (${rounds(base)})`,
    );

    const group = await groupDeliveries(service.baseUrl, store.key, log);

    const S = store.label;
    const ratioRow = (what, t, goal, note) => {
      const ratio = t.median / base.median;
      const dirty = t.ok && base.ok ? '' : '; some requests failed (not all HTTP 200)';
      return result(`ingest ${S}: ${what} / bare Express`, `${ratio.toFixed(2)} (${t.median.toFixed(0)} vs ${base.median.toFixed(0)}/s)`, `>= ${goal}`, t.ok && base.ok && ratio >= goal, note + dirty);
    };
    return [
      ratioRow('non-matching', unmatched, 0.8 / f, 'closed loop, 32 connections; no runbook matches (skip no_match)'),
      ratioRow('duplicate', dups, 0.8 / f, `repeats of ${DUPLICATES} episodes that hold runs`),
      ratioRow('run-creating', creating, 0.5 / f, 'each alert a run on a new target, step /bin/true executed'),
      result(`ingest ${S}: 5,000-alert group, first delivery`, ms(group.first), `<= ${250 * f} ms`, group.first <= 250 * f, `median of ${GROUP_REPS}; 5,000 shadow runs made`),
      result(`ingest ${S}: 5,000-alert group, repeat`, ms(group.repeat), `<= ${50 * f} ms`, group.repeat <= 50 * f, `median of ${GROUP_REPS}; the identical body again, all duplicates`),
      result(
        `ingest ${S}: ack p99 at 500/s`,
        `${open.censored > 0 ? '>= ' : ''}${ms(open.p99)}`,
        `< ${5 * f} ms`,
        clean(open) && open.censored === 0 && open.p99 < 5 * f,
        `open loop, 1 in 20 new; harness floor (bare Express) p99 ${ms(floor.p99)}` +
          `${open.censored > 0 ? `; ${open.censored} unanswered ${OPEN.drainMs / 1000} s after the last send` : ''}${clean(open) ? '' : '; some requests failed'}`,
      ),
    ];
  } finally {
    await service.stop();
    removeDir(dir);
  }
}

/** Rows saying a store's half was not run (or crashed), and why. */
function notRun(label, why, measured = 'not run') {
  return ['non-matching / bare Express', 'duplicate / bare Express', 'run-creating / bare Express', '5,000-alert group, first delivery', '5,000-alert group, repeat', 'ack p99 at 500/s'].map(
    (what) => result(`ingest ${label}: ${what}`, measured, '', null, why),
  );
}

/** Whether the built service (dist/) can open a PostgreSQL store yet. */
function serviceHasPostgres() {
  try {
    return fs.readFileSync(path.join(REPO_ROOT, 'dist', 'service.js'), 'utf8').includes('PostgresRunStore');
  } catch {
    return false;
  }
}

/** Runs benchmark 6 on both stores; returns its result rows. */
export async function benchIngest(log) {
  const bare = await startBareExpress();
  const rows = [];
  const crashes = [];
  let cluster = null;
  try {
    // The harness's own floor, measured once: it does not depend on the store.
    const floor = await load(bare, 'open', { ...OPEN, durationMs: 4000, prefix: 'bare-open' });
    log(describe(`  bare Express, open loop ${OPEN.rate}/s for 4 s (the floor of this harness on this machine)`, floor));

    // A half that crashes is reported, and the other half still runs; the error is thrown at the end with the rows.
    const half = async (label, run) => {
      try {
        rows.push(...(await run()));
      } catch (err) {
        crashes.push(err);
        log(`  ${label} CRASHED: ${err instanceof Error ? err.stack : String(err)}`);
        rows.push(...notRun(label, `crashed: ${err instanceof Error ? err.message.split('\n')[0] : String(err)}`, 'crashed'));
      }
    };
    log('  -- SQLite (WAL, the service defaults)');
    await half('SQLite', () => benchStore({ key: 'sqlite', label: 'SQLite', factor: 1 }, bare, floor, log));

    if (!serviceHasPostgres()) {
      log('  -- PostgreSQL: not run (dist/service.js does not open a PostgresRunStore yet)');
      rows.push(...notRun('PostgreSQL', 'the service has no PostgreSQL store yet'));
    } else {
      await half('PostgreSQL', async () => {
        const t0 = Date.now();
        cluster = await startPostgres();
        log(`  -- PostgreSQL (${cluster.version}; private cluster on 127.0.0.1:${cluster.port}, started in ${((Date.now() - t0) / 1000).toFixed(1)} s)`);
        return benchStore({ key: 'pg', label: 'PostgreSQL', factor: 2, databaseUrl: () => cluster.createDatabase('ingest') }, bare, floor, log);
      });
    }
  } finally {
    cluster?.destroy();
    await bare.stop();
  }
  if (crashes.length > 0) {
    // run.mjs prints these rows with the crash, and exits 1 as for any crashed benchmark.
    const err = new Error(`ingest: ${crashes.length} store half(s) crashed: ${crashes.map((e) => (e instanceof Error ? e.message.split('\n')[0] : String(e))).join('; ')}`);
    err.rows = rows;
    throw err;
  }
  return rows;
}
