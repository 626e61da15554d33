/**
 * The webhook load generator, run as its own process so it never shares an event loop with the server it measures.
 * Argument: one JSON object (see Options below). Prints one JSON line with the results.
 *
 * Options: url (the POST URL), token, mode ('open': a fixed rate, latency measured from each request's scheduled time,
 * so a slow server cannot hide its queueing; 'closed': `connections` requests always in flight, for throughput),
 * rate (open), connections, warmupMs, durationMs, dupCount and newEvery (the mix: every newEvery-th request is a new
 * episode, the others repeat one of dupCount episodes that were already delivered), prefix (names the new episodes),
 * alertname (optional: every body's alert gets this alertname instead of the fixture's ProbeFlagHigh, e.g. one that no
 * runbook matches; with newEvery 1 every request is then a new episode of an alert nothing matches), drainMs (open
 * loop only, optional: how long to wait for answers after the last send before cutting off; see openLoop).
 */

import http from 'node:http';
import { episodeBodies, episodeBody, loadFixture } from './alerts.mjs';

const opts = JSON.parse(process.argv[2] ?? '{}');
const url = new URL(opts.url);
const fixture = loadFixture();
const duplicates = Array.from({ length: opts.dupCount ?? 0 }, (_, i) => episodeBody(fixture, 'dup', i, opts.alertname));
const newBody = episodeBodies(fixture, opts.prefix, opts.alertname);
let newEpisodes = 0;

/** The body of the i-th request of the mix. */
function bodyFor(i) {
  if (opts.newEvery > 0 && i % opts.newEvery === 0) return newBody(newEpisodes++);
  return duplicates[(i * 7919) % duplicates.length];
}

const agent = new http.Agent({ keepAlive: true, maxSockets: opts.connections });
const headers = { authorization: `Bearer ${opts.token}`, 'content-type': 'application/json' };
const statuses = {};
let errors = 0;

function post(body) {
  return new Promise((resolve) => {
    const req = http.request(
      { agent, host: url.hostname, port: url.port, method: 'POST', path: url.pathname, headers: { ...headers, 'content-length': Buffer.byteLength(body) } },
      (res) => {
        res.resume();
        res.on('end', () => {
          statuses[res.statusCode] = (statuses[res.statusCode] ?? 0) + 1;
          resolve(res.statusCode === 200);
        });
      },
    );
    req.on('error', () => {
      errors += 1;
      resolve(false);
    });
    req.end(body);
  });
}

const now = () => Number(process.hrtime.bigint()) / 1e6;

/**
 * Sends at a fixed rate whatever the answers do; returns per-request latencies (ms) after the warm-up. With drainMs,
 * it waits at most that long after the last send: a request still unanswered then (queued in this agent or in the
 * server) is counted as `censored`, its latency the time until the cut-off (a lower bound), so an overloaded server
 * costs drainMs and not the time to drain its whole backlog.
 */
async function openLoop() {
  const interval = 1000 / opts.rate;
  const total = Math.round(((opts.warmupMs + opts.durationMs) / 1000) * opts.rate);
  const latencies = [];
  const lags = [];
  const pending = [];
  const unanswered = new Set();
  let cut = false;
  const start = now();
  let i = 0;
  while (i < total) {
    const elapsed = now() - start;
    while (i < total && i * interval <= elapsed) {
      const scheduled = start + i * interval;
      const measured = i * interval >= opts.warmupMs;
      if (measured) lags.push(now() - scheduled);
      const request = { scheduled };
      if (measured) unanswered.add(request);
      pending.push(post(bodyFor(i)).then((ok) => {
        if (cut) return;
        unanswered.delete(request);
        if (measured && ok) latencies.push(now() - scheduled);
      }));
      i += 1;
    }
    await new Promise((r) => setTimeout(r, 1));
  }
  const sendSpan = now() - start;
  if (opts.drainMs === undefined) {
    await Promise.all(pending);
    return { latencies, lags, sent: total, achievedRate: (total / (now() - start)) * 1000 };
  }
  let timer;
  await Promise.race([Promise.all(pending), new Promise((r) => (timer = setTimeout(r, opts.drainMs)))]);
  clearTimeout(timer);
  cut = true;
  const cutoff = now();
  for (const request of unanswered) latencies.push(cutoff - request.scheduled);
  return { latencies, lags, sent: total, censored: unanswered.size, achievedRate: (total / sendSpan) * 1000 };
}

/** Keeps `connections` requests in flight; returns completions per second inside the measured window. */
async function closedLoop() {
  const start = now();
  const from = start + opts.warmupMs;
  const until = from + opts.durationMs;
  let i = 0;
  let done = 0;
  const latencies = [];
  const user = async () => {
    while (now() < until) {
      const t0 = now();
      const ok = await post(bodyFor(i++));
      const t1 = now();
      if (t0 >= from && t1 <= until && ok) {
        done += 1;
        latencies.push(t1 - t0);
      }
    }
  };
  await Promise.all(Array.from({ length: opts.connections }, user));
  return { latencies, sent: i, throughput: (done / opts.durationMs) * 1000 };
}

const cpuBefore = process.cpuUsage();
const out = opts.mode === 'open' ? await openLoop() : await closedLoop();
const cpu = process.cpuUsage(cpuBefore);
agent.destroy();
const quantiles = (values) => {
  const sorted = Float64Array.from(values).sort();
  return (p) => (sorted.length === 0 ? NaN : sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(p * sorted.length) - 1))]);
};
const q = quantiles(out.latencies);
const lag = quantiles(out.lags ?? []);
process.stdout.write(
  `${JSON.stringify({
    mode: opts.mode,
    sent: out.sent,
    newEpisodes,
    measured: out.latencies.length,
    p50: q(0.5),
    p90: q(0.9),
    p99: q(0.99),
    max: q(1),
    // How late the generator itself sent (its own event loop): part of every latency above, not the server's doing.
    sendLagP99: lag(0.99),
    achievedRate: out.achievedRate ?? null,
    // Open loop with drainMs: requests still unanswered at the cut-off, counted in the quantiles at their lower bound.
    censored: out.censored ?? 0,
    throughput: out.throughput ?? null,
    statuses,
    errors,
    clientCpuS: (cpu.user + cpu.system) / 1e6,
  })}\n`,
);
// Requests cut off may still be queued in the agent: leave now rather than send them (stdout to a pipe is synchronous).
if (out.censored > 0) process.exit(0);
