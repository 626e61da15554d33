/**
 * Target 1: webhook acknowledgement p99 at 500 deliveries/s, and throughput against a bare Express JSON handler.
 * The service is the real CLI in its own process; the load comes from another process (load-gen.mjs).
 */

import { spawn } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { episodeBody, loadFixture, probeRunbook } from './alerts.mjs';
import { httpClient, ms, removeDir, result, runNodeJson, startService, tempDir, TOKEN } from './lib.mjs';

const HERE = path.dirname(fileURLToPath(import.meta.url));
const LOAD_GEN = path.join(HERE, 'load-gen.mjs');
const DUPLICATES = 50;
const NEW_EVERY = 20;

/** Starts bare-express.mjs and resolves to its URL and a stop function. */
function startBareExpress() {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [path.join(HERE, 'bare-express.mjs')], { stdio: ['ignore', 'pipe', 'inherit'] });
    child.once('error', reject);
    child.stdout.once('data', (chunk) => {
      const port = Number(String(chunk).trim());
      const exited = new Promise((r) => child.once('exit', r));
      resolve({ url: `http://127.0.0.1:${port}`, stop: () => (child.kill('SIGTERM'), exited) });
    });
  });
}

function load(url, mode, extra) {
  return runNodeJson(LOAD_GEN, { url: `${url}/api/v1/alerts`, token: TOKEN, mode, dupCount: DUPLICATES, newEvery: NEW_EVERY, ...extra });
}

function describe(label, r) {
  const codes = Object.entries(r.statuses).map(([c, n]) => `${c}×${n}`).join(' ');
  return `${label}: sent ${r.sent} (${r.newEpisodes} new episodes), p50 ${ms(r.p50)}, p90 ${ms(r.p90)}, p99 ${ms(r.p99)}, max ${ms(r.max)}; answers ${codes}${r.errors ? `, ${r.errors} connection errors` : ''}`;
}

/** Runs target 1; returns its result rows. */
export async function benchWebhook(log) {
  const dir = tempDir('webhook');
  const runbook = probeRunbook('probe-restart', ['{ name: restart, run: [/bin/true], timeout: 10s }']);
  const service = await startService(dir, { 'probe-restart.yaml': runbook }, 'limits: { maxConcurrentRuns: 16, maxRunStartsPerMinute: 1000000 }');
  let open;
  let closed;
  try {
    // Deliver every repeated episode once first, so the measured repeats really are duplicates of held episodes.
    const client = httpClient(service.baseUrl, 4);
    const fixture = loadFixture();
    for (let i = 0; i < DUPLICATES; i++) {
      const res = await client.request('POST', '/api/v1/alerts', episodeBody(fixture, 'dup', i));
      if (res.status !== 200) throw new Error(`seeding episode ${i}: HTTP ${res.status} ${res.text}`);
    }
    client.close();
    open = await load(service.baseUrl, 'open', { rate: 500, warmupMs: 2000, durationMs: 10_000, connections: 64, prefix: 'open' });
    log(describe('  remediator, open loop 500/s for 10 s', open));
    closed = await load(service.baseUrl, 'closed', { connections: 32, warmupMs: 1000, durationMs: 5000, prefix: 'closed' });
    log(`  remediator, closed loop 32 connections for 5 s: ${closed.throughput.toFixed(0)} deliveries/s (p99 ${ms(closed.p99)})`);
  } finally {
    await service.stop();
    removeDir(dir);
  }
  const bare = await startBareExpress();
  let base;
  try {
    base = await load(bare.url, 'closed', { connections: 32, warmupMs: 1000, durationMs: 5000, prefix: 'bare' });
    log(`  bare Express 5 + express.json(), closed loop 32 connections for 5 s: ${base.throughput.toFixed(0)} requests/s (p99 ${ms(base.p99)})`);
  } finally {
    await bare.stop();
  }
  const ratio = closed.throughput / base.throughput;
  const allOk = open.measured > 0 && open.errors === 0 && Object.keys(open.statuses).every((c) => c === '200');
  return [
    result('webhook ack p99 at 500/s', ms(open.p99), '< 5 ms', allOk && open.p99 < 5, `achieved ${open.achievedRate.toFixed(0)}/s; 1 in ${NEW_EVERY} new episode, rest duplicates`),
    result(
      'webhook throughput vs bare Express',
      `${ratio.toFixed(2)} (${closed.throughput.toFixed(0)} vs ${base.throughput.toFixed(0)}/s)`,
      '>= 0.5',
      ratio >= 0.5,
      '32 connections, closed loop',
    ),
  ];
}
