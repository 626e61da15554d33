/**
 * The escalation outbox across two replicas on one PostgreSQL, posting to a real Alertmanager through a recording proxy:
 * one replica (the leader) posts each RemediationFailed once; after kill -9 of the leader the survivor takes the role
 * within the term and posts the new escalations once, the old ones at most once more.
 */
import { randomBytes } from 'node:crypto';
import http from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { Escalation } from '../../src/history/run-store.js';
import { startAlertmanager, type AlertmanagerHandle } from '../support/alertmanager.js';
import { stopAll } from '../support/child.js';
import { listenOnLoopback, type Listening } from '../support/loopback-server.js';
import { testDatabase } from '../support/postgres.js';
import { fingerprintOf, startReplicas, type Replica, type ReplicaSet } from '../support/replicas.js';
import { waitFor } from '../support/wait-for.js';
import { startWebhookReceiver, type WebhookReceiver } from '../support/webhook-receiver.js';
import { webhookBody } from './in-process.js';

const LEASE_MS = 3_000;
const tag = randomBytes(3).toString('hex');
let receiver: WebhookReceiver | null = null;
let alertmanager: AlertmanagerHandle | null = null;
let proxy: (Listening & { posts: PostedAlert[] }) | null = null;
let set: ReplicaSet | null = null;

/** One alert of a POST /api/v2/alerts body that went through the proxy. */
interface PostedAlert {
  readonly labels: Record<string, string>;
  readonly status: number;
  readonly at: number;
}

/** Forwards everything to Alertmanager, recording each alert of every POST /api/v2/alerts with Alertmanager's answer. */
async function startRecordingProxy(upstream: string): Promise<Listening & { posts: PostedAlert[] }> {
  const posts: PostedAlert[] = [];
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const body = Buffer.concat(chunks);
      const method = req.method ?? 'GET';
      const forwarded = fetch(`${upstream}${req.url ?? '/'}`, {
        method,
        headers: { 'content-type': req.headers['content-type'] ?? 'application/json' },
        body: method === 'GET' || method === 'HEAD' ? undefined : body,
        signal: AbortSignal.timeout(5_000),
      });
      void forwarded
        .then(async (answer) => {
          const text = await answer.text();
          if (method === 'POST' && req.url === '/api/v2/alerts') {
            for (const alert of JSON.parse(body.toString('utf8')) as { labels: Record<string, string> }[]) posts.push({ labels: alert.labels, status: answer.status, at: Date.now() });
          }
          res.writeHead(answer.status, { 'content-type': answer.headers.get('content-type') ?? 'application/json' }).end(text);
        })
        .catch((thrown: unknown) => res.writeHead(502).end(String(thrown)));
    });
  });
  return { ...(await listenOnLoopback(server)), posts };
}

const runbook = `name: always-fails
faultClass: test
description: its only step fails, so every run ends failed and is escalated
match:
  - alertname = "Failing"
params:
  host: { from: labels.instance, pattern: '^[a-z0-9-]{1,64}$' }
target: "{{ params.host }}"
safety:
  fleetBreaker: { maxTargets: 100000, per: 10m }
tiers:
  - name: only
    steps:
      - name: fail
        run: [bash, -c, "exit 1"]
`;

beforeAll(async () => {
  receiver = await startWebhookReceiver();
  alertmanager = await startAlertmanager({ webhookUrl: `${receiver.url}/hook` });
  proxy = await startRecordingProxy(alertmanager.url);
  set = await startReplicas({
    count: 2,
    storeUrl: await testDatabase('replicas_outbox'),
    runbooks: () => ({ 'always-fails.yaml': runbook }),
    config: {
      alertmanager: { url: `http://127.0.0.1:${proxy.port}` },
      limits: { lease: `${LEASE_MS / 1000}s`, killGrace: '1s', maxRunStartsPerMinute: 100_000 },
    },
  });
}, 120_000);

afterAll(async () => {
  await set?.stop();
  await proxy?.close();
  await alertmanager?.stop();
  await receiver?.close();
  await stopAll();
});

const instanceOf = (i: number): string => `esc-${tag}-${i}`;

async function sendFailing(replica: Replica, from: number, count: number): Promise<void> {
  const alerts = Array.from({ length: count }, (_, k) => {
    const labels = { alertname: 'Failing', instance: instanceOf(from + k), severity: 'page' };
    return { labels, fingerprint: fingerprintOf(labels), startsAt: new Date(Date.UTC(2026, 10, 26, 16, 0, 0, from + k)).toISOString() };
  });
  const answer = await replica.api('POST', '/api/v1/alerts', webhookBody(alerts));
  expect(answer.status).toBe(200);
  expect((answer.json as { runs: string[] }).runs).toHaveLength(count);
}

/** The outbox re-posts a live escalation every minute by design; posts later than this after a label set's first are not counted. */
const REPOST_AFTER_MS = 60_000;

/** How many times each escalated label set reached Alertmanager (accepted) within a minute of its first post, by the original alert's instance. */
function postsByInstance(): Map<string, Map<string, number>> {
  const found = new Map<string, Map<string, number>>();
  const firstAt = new Map<string, number>();
  for (const post of proxy?.posts ?? []) {
    if (post.status !== 200 || post.labels.alertname !== 'RemediationFailed') continue;
    const instance = post.labels.instance ?? '';
    const key = JSON.stringify(Object.entries(post.labels).sort(([a], [b]) => a.localeCompare(b)));
    if (!firstAt.has(key)) firstAt.set(key, post.at);
    if (post.at - (firstAt.get(key) ?? post.at) >= REPOST_AFTER_MS) continue;
    const sets = found.get(instance) ?? new Map<string, number>();
    sets.set(key, (sets.get(key) ?? 0) + 1);
    found.set(instance, sets);
  }
  return found;
}

/** Each instance's label sets and their counts, as text: `instance: n` for one set, the sets spelled out otherwise. */
function postCounts(instances: readonly string[]): string[] {
  const found = postsByInstance();
  return instances.map((i) => {
    const sets = [...(found.get(i) ?? new Map<string, number>())];
    return sets.length === 1 ? `${i}: ${sets[0]?.[1] ?? 0}` : `${i}: ${JSON.stringify(sets)}`;
  });
}

async function allPosted(reader: Replica, instances: readonly string[]): Promise<true | undefined> {
  const escalations = await reader.listAll<Escalation>('/api/v1/escalations', 'escalations');
  const posted = new Set(escalations.filter((e) => e.postedAt !== null).map((e) => e.alert.labels.instance));
  const seen = postsByInstance();
  return instances.every((i) => posted.has(i) && seen.has(i)) ? true : undefined;
}

async function leaders(replicas: readonly Replica[]): Promise<Replica[]> {
  const gauges = await Promise.all(replicas.map((r) => r.leaderGauge()));
  return replicas.filter((_, k) => gauges[k] === 1);
}

describe('the escalation outbox with two replicas', () => {
  it('posts each escalation once, and after kill -9 of the leader the survivor leads within the term + 5 s', async () => {
    const replicas = set?.replicas ?? [];
    const [r1, r2] = replicas;
    if (r1 === undefined || r2 === undefined) throw new Error('two replicas expected');
    const first = Array.from({ length: 20 }, (_, i) => instanceOf(i));
    const leader = await waitFor(
      async () => {
        const found = await leaders(replicas);
        return found.length === 1 ? found[0] : undefined;
      },
      { description: 'exactly one replica to report remediator_leader{role="periodic"} 1', timeoutMs: 15_000 },
    );
    await sendFailing(r1, 0, 10);
    await sendFailing(r2, 10, 10);
    await waitFor(() => allPosted(r1, first), { description: 'all 20 escalations posted', timeoutMs: 60_000, intervalMs: 500, context: () => postCounts(first).join('\n') });
    expect(postCounts(first)).toEqual(first.map((i) => `${i}: 1`));
    const sample = proxy?.posts.find((p) => p.labels.instance === first[0])?.labels;
    expect(sample).toMatchObject({ alertname: 'RemediationFailed', original_alertname: 'Failing', runbook: 'always-fails', fault_class: 'test', target: first[0], reason: 'failed' });

    const survivor = leader === r1 ? r2 : r1;
    expect(await survivor.leaderGauge()).toBe(0);
    leader.service.kill('SIGKILL');
    await leader.service.exited;
    const killedAt = Date.now();
    const next = Array.from({ length: 10 }, (_, i) => instanceOf(20 + i));
    await sendFailing(survivor, 20, 10);
    await waitFor(async () => ((await survivor.leaderGauge()) === 1 ? true : undefined), {
      description: 'the survivor to take the leadership',
      timeoutMs: LEASE_MS + 5_000,
      intervalMs: 100,
    });
    const takeoverMs = Date.now() - killedAt;
    expect(takeoverMs).toBeLessThanOrEqual(LEASE_MS + 5_000);
    await waitFor(() => allPosted(survivor, next), { description: 'the 10 new escalations posted', timeoutMs: 60_000, intervalMs: 500, context: () => postCounts(next).join('\n') });
    expect(postCounts(next)).toEqual(next.map((i) => `${i}: 1`));
    const old = postsByInstance();
    expect(first.filter((i) => (old.get(i)?.size ?? 0) !== 1 || [...(old.get(i)?.values() ?? [])].some((n) => n > 2))).toEqual([]);
    expect(proxy?.posts.filter((p) => p.status !== 200)).toEqual([]);
    process.stdout.write(`replicas-outbox: ${leader.name} led; ${survivor.name} took over ${takeoverMs} ms after kill -9\n`);
  }, 180_000);
});
