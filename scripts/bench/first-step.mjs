/**
 * Target 2: alert received -> first step's process started, with a worker free. Each alert is a new episode on a new
 * target, sent one at a time; the step is a bash script that writes $EPOCHREALTIME (its own start, in microseconds of
 * wall-clock time) to a file named by $RUN_ID, compared with the wall-clock time just before the POST was written.
 */

import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { episodeBody, loadFixture, probeRunbook } from './alerts.mjs';
import { delay, httpClient, ms, removeDir, result, startService, summary, tempDir } from './lib.mjs';

const SAMPLES = 200;
const WARMUP = 20;

/** Wall-clock milliseconds with microsecond resolution. */
function wallMs() {
  return performance.timeOrigin + performance.now();
}

/** Reads the start time a step recorded, or null while the file is not written yet. */
function recorded(file) {
  let text;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch {
    return null;
  }
  const m = /^(\d+)[.,](\d{6})\n$/.exec(text);
  return m ? Number(m[1]) * 1000 + Number(m[2]) / 1000 : null;
}

async function waitRecorded(file, timeoutMs) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const at = recorded(file);
    if (at !== null) return at;
    if (Date.now() > deadline) throw new Error(`no step start recorded in ${file} within ${timeoutMs} ms`);
    await delay(1);
  }
}

/** How long the recording script takes to record after a plain spawn(), so the result can be read net of it. */
async function scriptOverhead(script, dir) {
  const values = [];
  for (let i = 0; i < 20; i++) {
    const runId = `calibrate-${i}`;
    const t0 = wallMs();
    const child = spawn(script, [], { env: { RUN_ID: runId, PATH: process.env.PATH }, stdio: 'ignore', detached: true });
    values.push((await waitRecorded(path.join(dir, runId), 5000)) - t0);
    await new Promise((r) => (child.exitCode === null ? child.once('exit', r) : r()));
  }
  return summary(values.slice(5));
}

/** Runs target 2; returns its result rows. */
export async function benchFirstStep(log) {
  const dir = tempDir('first-step');
  const starts = path.join(dir, 'starts');
  fs.mkdirSync(starts);
  const script = path.join(dir, 'record-start.sh');
  fs.writeFileSync(script, `#!/bin/bash\nprintf '%s\\n' "$EPOCHREALTIME" > '${starts}/'"$RUN_ID"\n`, { mode: 0o755 });
  const runbook = probeRunbook('first-step', [`{ name: record, run: ['${script}'], timeout: 10s }`]);
  const service = await startService(dir, { 'first-step.yaml': runbook }, 'limits: { maxConcurrentRuns: 16, maxRunStartsPerMinute: 1000000 }').catch(
    (err) => {
      removeDir(dir);
      throw err;
    },
  );
  const client = httpClient(service.baseUrl, 1);
  const fixture = loadFixture();
  const latencies = [];
  const acks = [];
  let overhead;
  try {
    overhead = await scriptOverhead(script, starts);
    for (let i = 0; i < WARMUP + SAMPLES; i++) {
      const body = episodeBody(fixture, 'first', i);
      const sent = wallMs();
      const res = await client.request('POST', '/api/v1/alerts', body);
      const acked = wallMs();
      const runId = res.status === 200 ? JSON.parse(res.text).runs[0] : undefined;
      if (runId === undefined) throw new Error(`alert ${i} made no run: HTTP ${res.status} ${res.text}`);
      const started = await waitRecorded(path.join(starts, runId), 10_000);
      if (i >= WARMUP) {
        latencies.push(started - sent);
        acks.push(acked - sent);
      }
      // Let the run finish, so the next alert finds its worker free and idle, as the target says.
      await delay(5);
    }
  } finally {
    client.close();
    await service.stop();
    removeDir(dir);
  }
  const s = summary(latencies);
  const a = summary(acks);
  log(`  ${s.n} alerts, one at a time: POST sent -> step process started p50 ${ms(s.p50)}, p90 ${ms(s.p90)}, p99 ${ms(s.p99)}, max ${ms(s.max)}`);
  log(`  (the 200 answer came after p50 ${ms(a.p50)}, p99 ${ms(a.p99)}; the recording script alone, spawned directly, records p50 ${ms(overhead.p50)} after spawn(), p99 ${ms(overhead.p99)})`);
  return [
    result('alert -> first step started p99', ms(s.p99), '< 20 ms', s.p99 < 20, `${s.n} alerts one at a time, p50 ${ms(s.p50)}; includes ~${ms(overhead.p50)} of bash start-up`),
  ];
}
