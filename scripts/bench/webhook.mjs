/**
 * Target 1: webhook acknowledgement p99 at 500 deliveries/s, and throughput against a bare Express JSON handler.
 * The service is the real CLI in its own process; the load comes from another process (load-gen.mjs).
 */

import { spawn } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { episodeBody, loadFixture, probeRunbook } from './alerts.mjs';
import { cpuSeconds, httpClient, ms, quantile, removeDir, result, runNodeJson, startService, tempDir, TOKEN } from './lib.mjs';

const HERE = path.dirname(fileURLToPath(import.meta.url));
const LOAD_GEN = path.join(HERE, 'load-gen.mjs');
const DUPLICATES = 50;
const NEW_EVERY = 20;
const ROUNDS = 3;
const CLOSED = { connections: 32, warmupMs: 500, durationMs: 2000 };

/** Starts bare-express.mjs and resolves to its URL, pid and a stop function. */
function startBareExpress() {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [path.join(HERE, 'bare-express.mjs')], { stdio: ['ignore', 'pipe', 'inherit'] });
    child.once('error', reject);
    child.stdout.once('data', (chunk) => {
      const port = Number(String(chunk).trim());
      const exited = new Promise((r) => child.once('exit', r));
      resolve({ baseUrl: `http://127.0.0.1:${port}`, pid: child.pid, stop: () => (child.kill('SIGTERM'), exited) });
    });
  });
}

/** Runs the load generator against a server; adds the server's CPU seconds over the run. */
async function load(server, mode, extra) {
  const before = cpuSeconds(server.pid);
  const r = await runNodeJson(LOAD_GEN, { url: `${server.baseUrl}/api/v1/alerts`, token: TOKEN, mode, dupCount: DUPLICATES, newEvery: NEW_EVERY, ...extra });
  return { ...r, serverCpuS: cpuSeconds(server.pid) - before };
}

function describe(label, r) {
  const codes = Object.entries(r.statuses).map(([c, n]) => `${c}x${n}`).join(' ');
  const rate = r.throughput === null ? `${r.sent} sent, ${r.newEpisodes} of them new episodes` : `${r.throughput.toFixed(0)} requests/s`;
  const lag = r.sendLagP99 === undefined ? '' : `, generator send lag p99 ${ms(r.sendLagP99)}`;
  const cpu = `server CPU ${((r.serverCpuS / r.sent) * 1e6).toFixed(0)} us/request`;
  return `${label}: ${rate}; p50 ${ms(r.p50)}, p90 ${ms(r.p90)}, p99 ${ms(r.p99)}, max ${ms(r.max)}${lag}; HTTP ${codes}${r.errors ? `, ${r.errors} connection errors` : ''}; ${cpu}`;
}

/** The webhook handler's own duration histogram (buckets by `le`, and the count), scraped from /metrics. */
async function handlerHistogram(baseUrl) {
  const client = httpClient(baseUrl, 1);
  try {
    const text = (await client.request('GET', '/metrics')).text;
    const buckets = {};
    for (const m of text.matchAll(/^remediator_webhook_duration_seconds_bucket\{le="([^"]+)"\} (\d+)/gm)) buckets[m[1]] = Number(m[2]);
    return buckets;
  } finally {
    client.close();
  }
}

/** What share of the deliveries between two scrapes the handler itself finished within 1, 2.5, 5 and 10 ms. */
function handlerShares(before, after) {
  const total = (after['+Inf'] ?? 0) - (before['+Inf'] ?? 0);
  if (total <= 0) return 'no handler histogram in /metrics';
  const share = (le) => `${(((after[le] - before[le]) / total) * 100).toFixed(1)}% <= ${Number(le) * 1000} ms`;
  return `the handler alone (its own histogram, receive to answer): ${['0.001', '0.0025', '0.005', '0.01'].filter((le) => le in after).map(share).join(', ')}`;
}

/** Delivers every repeated episode once, so that the measured repeats are duplicates of held episodes. */
async function seedDuplicates(baseUrl) {
  const client = httpClient(baseUrl, 4);
  const fixture = loadFixture();
  try {
    for (let i = 0; i < DUPLICATES; i++) {
      const res = await client.request('POST', '/api/v1/alerts', episodeBody(fixture, 'dup', i));
      if (res.status !== 200) throw new Error(`seeding episode ${i}: HTTP ${res.status} ${res.text}`);
    }
  } finally {
    client.close();
  }
}

/** Waits until the service has no pending or running run left, so that a round's runs do not slow the next round. */
async function settle(baseUrl) {
  const client = httpClient(baseUrl, 1);
  const deadline = Date.now() + 15_000;
  try {
    for (;;) {
      let busy = false;
      for (const state of ['pending', 'running']) {
        const res = await client.request('GET', `/api/v1/runs?state=${state}&limit=1`);
        busy ||= res.status !== 200 || JSON.parse(res.text).runs.length > 0;
      }
      if (!busy || Date.now() > deadline) return;
      await new Promise((r) => setTimeout(r, 100));
    }
  } finally {
    client.close();
  }
}

/**
 * Closed-loop throughput of each configuration, measured in alternating rounds so that drift in a shared machine's
 * speed falls on all of them alike; resolves to the median of each.
 */
async function alternatingThroughput(configs, log) {
  const seen = configs.map(() => []);
  for (let round = 0; round < ROUNDS; round++) {
    for (const [i, c] of configs.entries()) {
      const r = await load(c.server, 'closed', { ...CLOSED, prefix: `${c.key}-${round}`, ...c.extra });
      seen[i].push(r.throughput);
      await c.settle?.();
      if (round === ROUNDS - 1) log(describe(`  ${c.label}, closed loop, 32 connections (round ${round + 1} of ${ROUNDS})`, r));
    }
  }
  return seen.map((values) => quantile(values, 0.5));
}

/** Runs target 1; returns its result rows. */
export async function benchWebhook(log) {
  const dir = tempDir('webhook');
  const runbook = probeRunbook('probe-restart', ['{ name: restart, run: [/bin/true], timeout: 10s }']);
  const service = await startService(dir, { 'probe-restart.yaml': runbook }, 'limits: { maxConcurrentRuns: 16, maxRunStartsPerMinute: 1000000 }').catch(
    (err) => {
      removeDir(dir);
      throw err;
    },
  );
  const bare = await startBareExpress().catch(async (err) => {
    await service.stop();
    removeDir(dir);
    throw err;
  });
  let open;
  let floor;
  let mixed;
  let dupOnly;
  let base;
  try {
    await seedDuplicates(service.baseUrl);
    const histBefore = await handlerHistogram(service.baseUrl);
    open = await load(service, 'open', { rate: 500, warmupMs: 1500, durationMs: 10_000, connections: 64, prefix: 'open' });
    log(describe('  remediator, open loop 500/s for 10 s', open));
    log(`    ${handlerShares(histBefore, await handlerHistogram(service.baseUrl))}`);
    await settle(service.baseUrl);
    // The same open loop against the baseline shows how much of the tail the generator and the machine add by themselves.
    floor = await load(bare, 'open', { rate: 500, warmupMs: 1000, durationMs: 4000, connections: 64, prefix: 'bare' });
    log(describe('  bare Express, open loop 500/s for 4 s (the floor of this harness on this machine)', floor));
    [mixed, dupOnly, base] = await alternatingThroughput(
      [
        { key: 'mixed', label: 'remediator, 1 in 20 new', server: service, extra: {}, settle: () => settle(service.baseUrl) },
        { key: 'dups', label: 'remediator, duplicates only', server: service, extra: { newEvery: 0 } },
        { key: 'bare', label: 'bare Express 5 + express.json()', server: bare, extra: {} },
      ],
      log,
    );
    log(`  medians of ${ROUNDS} rounds: remediator ${mixed.toFixed(0)}/s (duplicates only ${dupOnly.toFixed(0)}/s), bare Express ${base.toFixed(0)}/s`);
  } finally {
    await bare.stop();
    await service.stop();
    removeDir(dir);
  }
  const ratio = mixed / base;
  const allOk = open.measured > 0 && open.errors === 0 && Object.keys(open.statuses).every((c) => c === '200');
  return [
    result(
      'webhook ack p99 at 500/s',
      ms(open.p99),
      '< 5 ms',
      allOk && open.p99 < 5,
      `enforce mode, step /bin/true; 1 in ${NEW_EVERY} a new episode, the rest duplicates; harness floor p99 ${ms(floor.p99)}`,
    ),
    result(
      'webhook throughput / bare Express',
      `${ratio.toFixed(2)} (${mixed.toFixed(0)} vs ${base.toFixed(0)}/s)`,
      '>= 0.5',
      ratio >= 0.5,
      `same mix, 32 connections; duplicates only: ${(dupOnly / base).toFixed(2)}`,
    ),
  ];
}
