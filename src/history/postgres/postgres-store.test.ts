import net from 'node:net';
import { afterEach, describe, expect, it } from '@jest/globals';
import pg from 'pg';
import { describeRaceContract } from '../../../test/store-contract/race-contract.js';
import { describeRunStoreContract } from '../../../test/store-contract/run-store-contract.js';
import { claim, insertRun, makeAlert, makeRun, sleep } from '../../../test/store-contract/fixtures.js';
import { freePort } from '../../../test/support/free-port.js';
import { dropDatabase, testDatabase } from '../../../test/support/postgres.js';
import { waitFor } from '../../../test/support/wait-for.js';
import { PostgresRunStore, type PostgresRunStoreOptions } from './postgres-store.js';
import { runTransaction } from './transactions.js';

describeRunStoreContract('postgres', async () => {
  const url = await testDatabase('contract');
  const store = new PostgresRunStore({ url });
  await store.open();
  return {
    store,
    cleanup: async () => {
      await store.close();
      await dropDatabase(url);
    },
  };
});

// Two instances on one database, each with its own pool and LISTEN connection, as two replicas hold them.
describeRaceContract('postgres', async () => {
  const url = await testDatabase('race');
  const a = new PostgresRunStore({ url, node: 'node-a' });
  const b = new PostgresRunStore({ url, node: 'node-b' });
  await Promise.all([a.open(), b.open()]);
  return {
    a,
    b,
    cleanup: async () => {
      await Promise.all([a.close(), b.close()]);
      await dropDatabase(url);
    },
  };
});

const cleanups: (() => Promise<void>)[] = [];

afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

/** A fresh database, dropped after the test. */
async function database(): Promise<string> {
  const url = await testDatabase('pgstore');
  cleanups.push(() => dropDatabase(url));
  return url;
}

/** An open store, closed after the test. */
async function openStore(options: PostgresRunStoreOptions): Promise<PostgresRunStore> {
  const store = new PostgresRunStore(options);
  await store.open();
  cleanups.push(() => store.close());
  return store;
}

/** Runs one statement with a plain client, outside any store. */
async function sql<R extends pg.QueryResultRow>(url: string, text: string, params: unknown[] = []): Promise<R[]> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    return (await client.query<R>(text, params)).rows;
  } finally {
    await client.end();
  }
}

/** Resolves once some store's connection LISTENs on the wake channel (a wake-up sent before then is not heard). */
function listening(url: string, count = 1): Promise<true> {
  return waitFor(
    async () => {
      const found = await sql<{ n: string }>(
        url,
        `SELECT count(*) AS n FROM pg_stat_activity WHERE datname = current_database() AND query = 'LISTEN remediator_wake' AND state = 'idle'`,
      );
      return Number(found[0]?.n) >= count ? true : undefined;
    },
    { description: 'the LISTEN connection', timeoutMs: 5_000, intervalMs: 25 },
  );
}

/** Counts a listener's calls and waits for the next one. */
function wakeCounter(): { readonly listener: () => void; calls(): number; next(timeoutMs: number): Promise<void> } {
  let calls = 0;
  return {
    listener: () => void calls++,
    calls: () => calls,
    async next(timeoutMs) {
      const before = calls;
      await waitFor(() => (calls > before ? true : undefined), { description: 'a wake-up', timeoutMs, intervalMs: 10 });
    },
  };
}

/** A TCP relay to the test cluster: a URL whose port can be shut (connections cut, new ones refused) and opened again. */
async function relay(target: string): Promise<{ url: string; cut(): void; shut(): Promise<void>; reopen(): Promise<void> }> {
  const upstream = new URL(target);
  const port = await freePort();
  const sockets = new Set<net.Socket>();
  const server = net.createServer((client) => {
    const up = net.connect(Number(upstream.port), upstream.hostname);
    for (const s of [client, up]) {
      sockets.add(s);
      s.on('error', () => undefined);
      s.on('close', () => sockets.delete(s));
    }
    client.pipe(up).pipe(client);
  });
  const listen = (): Promise<void> => new Promise((resolve) => server.listen(port, '127.0.0.1', resolve));
  await listen();
  const url = new URL(target);
  url.port = String(port);
  const cut = (): void => {
    for (const s of sockets) s.destroy();
  };
  const shut = (): Promise<void> =>
    new Promise<void>((resolve) => {
      server.close(() => resolve());
      cut();
    });
  cleanups.push(shut);
  return { url: url.toString(), cut, shut, reopen: listen };
}

describe('PostgresRunStore across replicas', () => {
  it("counts for every replica's gauges what the runs of all replicas do: approval waits and lapsed leases", async () => {
    const url = await database();
    const [a, b] = [await openStore({ url }), await openStore({ url })];
    const waiting = await insertRun(a, { target: 'gpu-1' });
    expect(await a.awaitApproval(waiting.id, await claim(a, waiting.id, 'replica-a'), 0, 60_000)).toBe(true);
    const lapsing = await insertRun(b, { target: 'gpu-2' });
    await claim(b, lapsing.id, 'replica-b', 50);
    await sleep(150);
    const counts = { awaitingApproval: 1, leaseExpired: 1 };
    expect([await a.runCounts(), await b.runCounts()]).toEqual([counts, counts]);
    expect(await a.approveRun(waiting.id, 'alice')).toBe('running');
    expect(await b.runCounts()).toEqual({ awaitingApproval: 0, leaseExpired: 1 });
  });

  it('refuses a leadership to B while A holds its term, and gives it to B in a higher term once A ran out or released', async () => {
    const url = await database();
    const [a, b] = [await openStore({ url }), await openStore({ url })];
    const term = async (): Promise<number> => Number((await sql<{ term: string }>(url, `SELECT term FROM leadership WHERE role = 'periodic'`))[0]?.term);
    expect(await a.holdLeadership('periodic', 'a', 300)).toBe(true);
    const aTerm = await term();
    expect(await b.holdLeadership('periodic', 'b', 300)).toBe(false);
    expect(await a.holdLeadership('periodic', 'a', 300)).toBe(true);
    expect(await term()).toBe(aTerm);
    await sleep(400);
    expect(await b.holdLeadership('periodic', 'b', 60_000)).toBe(true);
    expect(await term()).toBeGreaterThan(aTerm);
    expect(await a.holdLeadership('periodic', 'a', 300)).toBe(false);
    const bTerm = await term();
    await b.releaseLeadership('periodic', 'b');
    expect(await a.holdLeadership('periodic', 'a', 60_000)).toBe(true);
    expect(await term()).toBeGreaterThan(bTerm);
  });

  it('wakes B within 2 s when A inserts a run, approves one, or releases a lease', async () => {
    const url = await database();
    const [a, b] = [await openStore({ url }), await openStore({ url })];
    const wakes = wakeCounter();
    b.onWake(wakes.listener);
    await listening(url);
    const inserted = wakes.next(2_000);
    const run = await insertRun(a);
    await inserted;
    const fence = await claim(a, run.id, 'w1');
    expect(await a.awaitApproval(run.id, fence, 0, 60_000)).toBe(true);
    const approved = wakes.next(2_000);
    expect(await a.approveRun(run.id, 'alice')).toBe('running');
    await approved;
    const insertedOther = wakes.next(2_000); // counted from before the insert: its wake-up may come before the insert returns
    const other = await insertRun(a, { target: 'gpu-2' });
    await insertedOther;
    await claim(a, other.id, 'w1', 50);
    await sleep(100);
    const released = wakes.next(2_000);
    expect((await a.expiredRuns('w2', false)).map((r) => r.runId)).toEqual([other.id]);
    await a.releaseLease(other.id);
    await released;
  });

  it('does not wake anyone for a transaction that rolled back, nor for a shadow run', async () => {
    const url = await database();
    const [a, b] = [await openStore({ url }), await openStore({ url })];
    const wakes = wakeCounter();
    b.onWake(wakes.listener);
    await listening(url);
    await expect(
      a.transact(async (tx) => {
        await tx.insertRun(makeRun(tx.now()));
        throw new Error('guard bug');
      }),
    ).rejects.toThrow('guard bug');
    await insertRun(a, { state: 'shadow' });
    await sleep(300);
    expect(wakes.calls()).toBe(0);
  });

  it('listens again after its connection drops, and wakes its listeners once for what it may have missed', async () => {
    const url = await database();
    const path = await relay(url);
    const b = await openStore({ url: path.url });
    const wakes = wakeCounter();
    b.onWake(wakes.listener);
    await listening(url);
    const missed = wakes.next(5_000);
    path.cut();
    await missed;
    expect(wakes.calls()).toBe(1);
    await listening(url);
    const a = await openStore({ url });
    const heard = wakes.next(2_000);
    await insertRun(a);
    await heard;
  });

  it('gives the sweep only the process groups recorded on its own node', async () => {
    const url = await database();
    const [a, b] = [await openStore({ url, node: 'node-a' }), await openStore({ url, node: 'node-b' })];
    const run = await insertRun(a);
    const fence = await claim(a, run.id, 'w1', 150);
    const step = { tierIndex: 0, phase: 'steps', stepIndex: 0 } as const;
    await a.startStep(run.id, fence, { ...step, name: 'a', kind: 'run', argv: ['sleep', '9'], host: null });
    expect(await a.recordProcess(run.id, fence, step, { pgid: 4242, startTicks: 7, cgroup: '/sys/fs/cgroup/remediator/step-1' })).toBe(true);
    await sleep(250);
    expect(await a.expiredRuns('w2', false)).toEqual([{ runId: run.id, processes: [{ pgid: 4242, startTicks: 7, cgroup: '/sys/fs/cgroup/remediator/step-1' }] }]);
    expect(await b.expiredRuns('w2', false)).toEqual([{ runId: run.id, processes: [] }]);
  });

  it('never releases a run that another replica claimed after the sweep saw it expire', async () => {
    const url = await database();
    const [s1, s2, c] = [await openStore({ url }), await openStore({ url }), await openStore({ url })];
    const run = await insertRun(c);
    await claim(c, run.id, 'gone', 100);
    await sleep(200);
    expect((await s1.expiredRuns('s1', false)).map((r) => r.runId)).toEqual([run.id]);
    expect((await s2.expiredRuns('s2', false)).map((r) => r.runId)).toEqual([run.id]);
    await s1.releaseLease(run.id);
    const fence = await claim(c, run.id, 'w-new', 60_000);
    await s2.releaseLease(run.id);
    expect(await c.checkLease(run.id, 'w-new', fence)).toMatchObject({ held: true });
    expect(await c.transact((tx) => tx.claimCandidates(10))).toEqual([]);
  });

  it('loses a lease that expired on the database clock: a renewal then finds it gone', async () => {
    const url = await database();
    const store = await openStore({ url });
    const run = await insertRun(store);
    const fence = await claim(store, run.id, 'w1', 150);
    expect((await store.renewLease(run.id, 'w1', fence, 150)).held).toBe(true);
    await sleep(250);
    expect((await store.renewLease(run.id, 'w1', fence, 60_000)).held).toBe(false);
    expect((await store.expiredRuns('w2', false)).map((r) => r.runId)).toEqual([run.id]);
  });

  it('fixes a transaction`s now when it begins, from the database clock', async () => {
    const url = await database();
    const store = await openStore({ url });
    const before = await store.now();
    const [first, second] = await store.transact(async (tx) => {
      const at = tx.now();
      await sleep(30);
      await tx.globalPaused();
      return [at, tx.now()];
    });
    expect(second).toBe(first);
    expect(first).toBeGreaterThanOrEqual(before);
    expect(await store.now()).toBeGreaterThanOrEqual((first ?? 0) + 30);
  });

  it('retries a claim whose run another replica canceled meanwhile, and then finds nothing to claim', async () => {
    const url = await database();
    const [a, b] = [await openStore({ url }), await openStore({ url })];
    const run = await insertRun(a);
    let attempts = 0;
    const claimed = a.transact(async (tx) => {
      attempts++;
      const [candidate] = await tx.claimCandidates(1);
      if (candidate === undefined) return null;
      if (attempts === 1) await b.cancelRun(candidate.runId, 'canceled');
      return tx.claim(candidate.runId, 'w1', 30_000);
    });
    expect(await claimed).toBeNull();
    expect(attempts).toBe(2);
    expect((await a.getRun(run.id))?.state).toBe('canceled');
  });

  it('keeps NUL bytes of step output from failing the record', async () => {
    const url = await database();
    const store = await openStore({ url });
    const run = await insertRun(store);
    const fence = await claim(store, run.id);
    const step = { tierIndex: 0, phase: 'steps', stepIndex: 0 } as const;
    const now = Date.now();
    const result = {
      ok: true, exitCode: 0, signal: null, timedOut: false, stoppedBy: null, stdout: 'a\u0000b', stderr: '', stdoutTruncated: false,
      stderrTruncated: false, startedAt: now, endedAt: now, error: null,
    } as const;
    expect(await store.finishStep(run.id, fence, step, 'succeeded', result, 1)).toBe(true);
    expect((await store.getRun(run.id))?.tiers[0]?.steps[0]?.stdout).toBe('a\uFFFDb');
  });
});

describe('PostgresRunStore when the database cannot be reached', () => {
  it('answers STORE_UNAVAILABLE, not a raw pg error, when its URL points at a closed port', async () => {
    const port = await freePort();
    const store = new PostgresRunStore({ url: `postgres://postgres:secret@127.0.0.1:${port}/remediator` });
    const opening = store.open();
    await expect(opening).rejects.toMatchObject({ code: 'STORE_UNAVAILABLE', retryable: true });
    await expect(opening).rejects.toThrow(`PostgreSQL store could not open 127.0.0.1:${port}/remediator: ECONNREFUSED`);
    await expect(opening).rejects.not.toThrow('secret');
    await expect(store.transact(async () => 1)).rejects.toMatchObject({ code: 'STORE_UNAVAILABLE' });
    await expect(store.ping()).rejects.toMatchObject({ code: 'STORE_UNAVAILABLE' });
  });

  it('answers STORE_UNAVAILABLE from transact, ping and reads once the port it was opened on is shut, and recovers when it opens again', async () => {
    const url = await database();
    const path = await relay(url);
    const store = await openStore({ url: path.url });
    await insertRun(store);
    await path.shut();
    const failing = store.transact((tx) => tx.claimCandidates(10));
    await expect(failing).rejects.toMatchObject({ code: 'STORE_UNAVAILABLE' });
    await expect(failing).rejects.toThrow(/PostgreSQL store could not (connect to )?run a transaction/);
    await expect(store.ping()).rejects.toMatchObject({ code: 'STORE_UNAVAILABLE' });
    await expect(store.listRuns({}, { limit: 5, cursor: null })).rejects.toMatchObject({ code: 'STORE_UNAVAILABLE' });
    await path.reopen();
    expect(await store.transact((tx) => tx.claimCandidates(10))).toHaveLength(1);
  });

  it('maps a pool that cannot connect to STORE_UNAVAILABLE in the transaction runner itself', async () => {
    const port = await freePort();
    const pool = new pg.Pool({ connectionString: `postgres://postgres@127.0.0.1:${port}/x`, connectionTimeoutMillis: 2_000 });
    try {
      await expect(runTransaction(pool, 'claim', async () => 1)).rejects.toMatchObject({ code: 'STORE_UNAVAILABLE', cause: expect.objectContaining({ code: 'ECONNREFUSED' }) });
    } finally {
      await pool.end();
    }
  });

  it('answers STORE_UNAVAILABLE when its database is dropped under it', async () => {
    const url = await testDatabase('dropped');
    const store = new PostgresRunStore({ url });
    await store.open();
    cleanups.push(() => store.close());
    await dropDatabase(url);
    await expect(store.transact(async (tx) => tx.globalPaused())).rejects.toMatchObject({ code: 'STORE_UNAVAILABLE' });
    await expect(store.recordEscalation({ runbook: 'r', runId: null, reason: 'failed', alert: makeAlert(), target: null })).rejects.toMatchObject({
      code: 'STORE_UNAVAILABLE',
    });
  });
});
