/**
 * Target 5: the service's RSS with 1,000 runs active. The real service (CLI child process) runs with
 * limits.maxConcurrentRuns 1024 and a runbook whose one step is `sleep 30`; 1,000 alerts on 1,000 targets come in,
 * and once all 1,000 runs are `running` (each holding a live sleep) VmRSS is read from /proc/PID/status.
 */

import fs from 'node:fs';
import Database from 'better-sqlite3';
import { episodeBody, loadFixture, probeRunbook } from './alerts.mjs';
import { delay, httpClient, nowMs, removeDir, result, startService, tempDir } from './lib.mjs';

const RUNS = 1000;
const SLEEP_S = 30;

/** VmRSS and VmHWM of a process, in MiB. */
function memory(pid) {
  const status = fs.readFileSync(`/proc/${pid}/status`, 'utf8');
  const kib = (name) => Number(new RegExp(`^${name}:\\s+(\\d+) kB`, 'm').exec(status)?.[1] ?? NaN);
  return { rss: kib('VmRSS') / 1024, hwm: kib('VmHWM') / 1024 };
}

/** How many runs are in a state, counted through the API. */
async function countRuns(client, state) {
  let n = 0;
  let cursor = null;
  do {
    const res = await client.request('GET', `/api/v1/runs?state=${state}&limit=500${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`);
    if (res.status !== 200) throw new Error(`GET /api/v1/runs: HTTP ${res.status} ${res.text}`);
    const body = JSON.parse(res.text);
    n += body.runs.length;
    cursor = body.nextCursor;
  } while (cursor);
  return n;
}

async function postAlerts(client) {
  const fixture = loadFixture();
  let next = 0;
  const sender = async () => {
    while (next < RUNS) {
      const i = next++;
      const res = await client.request('POST', '/api/v1/alerts', episodeBody(fixture, 'mem', i));
      if (res.status !== 200 || JSON.parse(res.text).runs.length !== 1) throw new Error(`alert ${i}: HTTP ${res.status} ${res.text}`);
    }
  };
  await Promise.all(Array.from({ length: 8 }, sender));
}

/** Kills, by process group, any step the service left behind (it should leave none), reading the groups from its store. */
function killLeftovers(dbPath) {
  const db = new Database(dbPath, { readonly: true });
  let groups;
  try {
    groups = db.prepare('SELECT DISTINCT pgid FROM run_steps WHERE pgid IS NOT NULL').pluck().all();
  } finally {
    db.close();
  }
  let killed = 0;
  for (const pgid of groups) {
    try {
      process.kill(-pgid, 'SIGKILL');
      killed += 1;
    } catch {
      // ESRCH: that group is already gone, as it should be.
    }
  }
  return { groups: groups.length, killed };
}

/** Runs target 5; returns its result rows. */
export async function benchMemory(log) {
  const dir = tempDir('memory');
  const runbook = probeRunbook('hold', [`{ name: hold, run: [/bin/sleep, '${SLEEP_S}'], timeout: 2m }`]);
  const limits = 'limits: { maxConcurrentRuns: 1024, maxRunStartsPerMinute: 1000000, killGrace: 1s, shutdownGrace: 1s }';
  const service = await startService(dir, { 'hold.yaml': runbook }, limits).catch((err) => {
    removeDir(dir);
    throw err;
  });
  const client = httpClient(service.baseUrl, 8);
  const idle = memory(service.pid);
  let running = 0;
  let pending = 0;
  let mem;
  let leftovers;
  try {
    const t0 = nowMs();
    await postAlerts(client);
    const posted = nowMs() - t0;
    const deadline = Date.now() + (SLEEP_S - 5) * 1000;
    while (Date.now() < deadline) {
      running = await countRuns(client, 'running');
      if (running >= RUNS) break;
      await delay(250);
    }
    pending = await countRuns(client, 'pending');
    const reached = nowMs() - t0;
    // A few readings a little apart: the figure is the highest, so a collection just before one reading hides nothing.
    const readings = [];
    for (let i = 0; i < 5; i++) {
      readings.push(memory(service.pid).rss);
      await delay(200);
    }
    mem = { rss: Math.max(...readings), hwm: memory(service.pid).hwm };
    log(`  idle after start-up: VmRSS ${idle.rss.toFixed(0)} MiB`);
    log(`  ${RUNS} alerts posted in ${(posted / 1000).toFixed(1)} s; ${running} runs running and ${pending} pending after ${(reached / 1000).toFixed(1)} s`);
    log(`  with them active: VmRSS ${mem.rss.toFixed(0)} MiB (highest of 5 readings), peak so far (VmHWM) ${mem.hwm.toFixed(0)} MiB`);
  } finally {
    client.close();
    await service.stop(15_000);
    leftovers = killLeftovers(service.dbPath);
    removeDir(dir);
  }
  log(`  after stop: ${leftovers.groups} step process groups recorded, ${leftovers.killed} still alive and killed by the benchmark`);
  const active = running + pending;
  return [
    result(
      `RSS with ${active} runs active`,
      `${mem.rss.toFixed(0)} MiB (${(mem.rss * 1.048576).toFixed(1)} MB)`,
      '< 150 MB',
      active >= RUNS ? mem.rss * 1.048576 < 150 : null,
      `${running} running (each a live sleep) + ${pending} pending; peak ${mem.hwm.toFixed(0)} MiB; idle ${idle.rss.toFixed(0)} MiB`,
    ),
  ];
}
