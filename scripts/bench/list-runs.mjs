/**
 * Target 4: GET /api/v1/runs with filters on a store of 1,000,000 runs, through the real service (CLI child process)
 * opened on the filled file. Requests go one at a time over a keep-alive connection, and the time is the whole HTTP
 * exchange as the client sees it.
 */

import { alertName, filledRunsDb, fingerprint, runbookName, SHAPE, targetName } from './fill-runs.mjs';
import { probeRunbook } from './alerts.mjs';
import { httpClient, ms, nowMs, removeDir, result, startService, summary, tempDir } from './lib.mjs';

const PER_FILTER = 30;
const PER_STRESS = 5;
const HOUR_MS = 3_600_000;

/** The filters asked for, each as a query string made from a sample number k (so the values vary). */
function filters(endMs) {
  const iso = (t) => new Date(t).toISOString();
  const at = (k) => endMs - Math.floor(((k * 7919) % 1000) / 1000 * SHAPE.spanMs);
  return {
    'newest 50': () => '',
    'newest 500 (limit=500)': () => 'limit=500',
    'state=failed': () => 'state=failed',
    'state=pending (rare)': () => 'state=pending',
    'runbook': (k) => `runbook=${runbookName(k % SHAPE.runbooks)}`,
    'faultClass': (k) => `faultClass=${['oom', 'hung', 'down', 'gpu-xid'][k % 4]}`,
    'target': (k) => `target=${targetName((k * 37) % SHAPE.targets)}`,
    'alertname': (k) => `alertname=${alertName(k % SHAPE.alertnames)}`,
    'fingerprint': (k) => `fingerprint=${fingerprint((k * 101) % SHAPE.fingerprints)}`,
    'since+until (1 h window)': (k) => `since=${iso(at(k) - HOUR_MS)}&until=${iso(at(k))}`,
    'runbook+state+since (7 d)': (k) => `runbook=${runbookName(k % SHAPE.runbooks)}&state=failed&since=${iso(endMs - 7 * 24 * HOUR_MS)}`,
    'runbook+state=interrupted (rare in runbook)': (k) => `runbook=${runbookName(k % 8)}&state=interrupted`,
    'target+until (older page)': (k) => `target=${targetName((k * 53) % SHAPE.targets)}&until=${iso(at(k))}`,
  };
}

/**
 * Combinations whose second filter matches nothing inside the first one's index range: the listing then reads every
 * run of the first filter. Kept apart from the main figure, as the worst case an SRE can ask for.
 */
function stressFilters() {
  return {
    'runbook + a faultClass it lacks (0 rows)': (k) => `runbook=${runbookName(k % 2)}&faultClass=${k % 2 === 0 ? 'hung' : 'oom'}`,
    'alertname + a faultClass it lacks (0 rows)': (k) => `alertname=${alertName(0)}&faultClass=${k % 2 === 0 ? 'hung' : 'down'}`,
  };
}

async function timedGet(client, query) {
  const t0 = nowMs();
  const res = await client.request('GET', `/api/v1/runs${query ? `?${query}` : ''}`);
  const elapsed = nowMs() - t0;
  if (res.status !== 200) throw new Error(`GET /api/v1/runs?${query}: HTTP ${res.status} ${res.text.slice(0, 300)}`);
  return { elapsed, body: JSON.parse(res.text) };
}

/** Follows nextCursor from the first page of a filter, timing each later page. */
async function paging(client, pages) {
  const times = [];
  let rows = 0;
  let cursor = (await timedGet(client, 'state=succeeded')).body.nextCursor;
  for (let i = 0; i < pages && cursor; i++) {
    const { elapsed, body } = await timedGet(client, `state=succeeded&cursor=${encodeURIComponent(cursor)}`);
    times.push(elapsed);
    rows += body.runs.length;
    cursor = body.nextCursor;
  }
  return { times, rows };
}

function row(name, s, rows) {
  return `  ${name.padEnd(44)} p50 ${ms(s.p50).padStart(9)}  p99 ${ms(s.p99).padStart(9)}  max ${ms(s.max).padStart(9)}  (${s.n} requests, ${rows.toFixed(0)} runs/answer)`;
}

/** Runs target 4; returns its result rows. */
export async function benchListRuns(log) {
  const { file, endMs } = await filledRunsDb(log);
  const dir = tempDir('list-runs');
  const service = await startService(dir, { 'probe.yaml': probeRunbook('probe', ['{ name: noop, run: [/bin/true] }']) }, '', file).catch((err) => {
    removeDir(dir);
    throw err;
  });
  const client = httpClient(service.baseUrl, 1);
  const all = [];
  const stress = [];
  let worst = { name: '', p99: 0 };
  try {
    const defs = Object.entries(filters(endMs));
    // One untimed pass, so the first request of each kind does not pay for preparing its statement.
    for (const [, q] of defs) await timedGet(client, q(0));
    for (const [name, q] of defs) {
      const times = [];
      let rows = 0;
      for (let k = 1; k <= PER_FILTER; k++) {
        const { elapsed, body } = await timedGet(client, q(k));
        times.push(elapsed);
        rows += body.runs.length;
      }
      const s = summary(times);
      all.push(...times);
      if (s.p99 > worst.p99) worst = { name, p99: s.p99 };
      log(row(name, s, rows / PER_FILTER));
    }
    const pages = await paging(client, PER_FILTER);
    const s = summary(pages.times);
    all.push(...pages.times);
    if (s.p99 > worst.p99) worst = { name: 'cursor paging', p99: s.p99 };
    log(row('state=succeeded, cursor pages 2..31', s, pages.rows / Math.max(1, pages.times.length)));
    for (const [name, q] of Object.entries(stressFilters())) {
      const times = [];
      for (let k = 0; k < PER_STRESS; k++) times.push((await timedGet(client, q(k))).elapsed);
      const st = summary(times);
      stress.push(...times);
      log(row(name, st, 0));
    }
  } finally {
    client.close();
    await service.stop();
    removeDir(dir);
  }
  const total = summary(all);
  log(`  all ${total.n} requests: p50 ${ms(total.p50)}, p99 ${ms(total.p99)}, max ${ms(total.max)}`);
  const worstCase = summary(stress);
  return [
    result('GET /api/v1/runs on 1M runs, p99', ms(total.p99), '< 20 ms', total.p99 < 20, `${total.n} requests over 14 filter kinds; worst kind: ${worst.name} (p99 ${ms(worst.p99)})`),
    result(
      'GET /api/v1/runs, empty combined filters',
      ms(worstCase.p99),
      '< 20 ms',
      worstCase.p99 < 20,
      `${worstCase.n} requests: a second filter with no match in the first one's runs reads them all`,
    ),
  ];
}
