import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from '@jest/globals';
import pino from 'pino';
import { waitFor } from '../test/support/wait-for.js';
import { SqliteRunStore } from './history/sqlite/sqlite-store.js';
import { startLeadership, type Leadership } from './leadership.js';

const TERM_MS = 300;
const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

async function openStore(): Promise<SqliteRunStore> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'remediator-leader-'));
  const store = new SqliteRunStore({ path: path.join(dir, 'r.db') });
  await store.open();
  cleanups.push(async () => {
    await store.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });
  return store;
}

/** A contender whose work records when it runs. */
function contender(store: Pick<SqliteRunStore, 'holdLeadership' | 'releaseLeadership'>, owner: string, log: string[]): Leadership {
  const leadership = startLeadership({
    store,
    role: 'periodic',
    owner,
    termMs: TERM_MS,
    logger: pino({ level: 'silent' }),
    work: {
      start: () => void log.push(`${owner} start`),
      stop: async () => void log.push(`${owner} stop`),
    },
  });
  cleanups.push(() => leadership.stop());
  return leadership;
}

describe('leadership of the periodic work', () => {
  it('gives the work to one contender, and to the other at once when the first stops cleanly', async () => {
    const store = await openStore();
    const log: string[] = [];
    const a = contender(store, 'a', log);
    await waitFor(() => (a.isLeader() ? true : undefined), { description: 'a leads' });
    const b = contender(store, 'b', log);
    await new Promise((resolve) => setTimeout(resolve, TERM_MS * 2));
    expect([a.isLeader(), b.isLeader()]).toEqual([true, false]);
    const released = performance.now();
    await a.stop();
    await waitFor(() => (b.isLeader() ? true : undefined), { description: 'b leads', timeoutMs: 5000, intervalMs: 10 });
    // b retries every third of the term: it need not wait the term out.
    expect(performance.now() - released).toBeLessThan(TERM_MS);
    expect(log).toEqual(['a start', 'a stop', 'b start']);
  });

  it('stops the work of a leader that cannot renew before another takes over, and hands it on once the term ran out', async () => {
    const store = await openStore();
    const log: string[] = [];
    let reachable = true;
    // a's store goes away (a partition, a hung database): its renewals fail from now on.
    const cutOff = {
      holdLeadership: async (...args: Parameters<SqliteRunStore['holdLeadership']>) => {
        if (!reachable) throw new Error('store unreachable');
        return store.holdLeadership(...args);
      },
      releaseLeadership: (...args: Parameters<SqliteRunStore['releaseLeadership']>) => store.releaseLeadership(...args),
    };
    const a = contender(cutOff, 'a', log);
    await waitFor(() => (a.isLeader() ? true : undefined), { description: 'a leads' });
    const b = contender(store, 'b', log);
    reachable = false;
    await waitFor(() => (b.isLeader() ? true : undefined), { description: 'b leads', timeoutMs: 5000, intervalMs: 10 });
    expect(a.isLeader()).toBe(false);
    // a gave the work up before b started it: never two at once.
    expect(log).toEqual(['a start', 'a stop', 'b start']);
  });
});
