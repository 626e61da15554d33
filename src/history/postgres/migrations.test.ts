import { afterEach, describe, expect, it } from '@jest/globals';
import pg from 'pg';
import { dropDatabase, testDatabase } from '../../../test/support/postgres.js';
import { applyMigrations, checksum, MIGRATIONS } from './migrations.js';
import { PostgresRunStore } from './postgres-store.js';

const databases: string[] = [];

async function freshDatabase(): Promise<string> {
  const url = await testDatabase('migrate');
  databases.push(url);
  return url;
}

afterEach(async () => {
  for (const url of databases.splice(0)) await dropDatabase(url);
});

/** Runs fn with a plain client on the database, outside any store. */
async function withClient<T>(url: string, fn: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    return await fn(client);
  } finally {
    await client.end();
  }
}

const appliedIds = (url: string): Promise<number[]> =>
  withClient(url, async (c) => (await c.query<{ id: number }>('SELECT id FROM schema_migrations ORDER BY id')).rows.map((r) => r.id));

describe('PostgreSQL migrations', () => {
  it('applies every migration exactly once when 8 stores open one fresh database at once', async () => {
    const url = await freshDatabase();
    const stores = Array.from({ length: 8 }, () => new PostgresRunStore({ url, poolSize: 2 }));
    try {
      await Promise.all(stores.map((s) => s.open()));
      expect(await appliedIds(url)).toEqual(MIGRATIONS.map((m) => m.id));
      // Every store works on the schema the others raced to make.
      await Promise.all(stores.map((s) => s.ping()));
      expect(await stores[3]?.now()).toEqual(expect.any(Number));
    } finally {
      await Promise.all(stores.map((s) => s.close()));
    }
  });

  it('applies nothing on a second open, and records each migration with its checksum and the database time', async () => {
    const url = await freshDatabase();
    const store = new PostgresRunStore({ url });
    await store.open();
    await store.close();
    await store.open();
    await store.close();
    const pool = new pg.Pool({ connectionString: url, max: 1 });
    try {
      expect(await applyMigrations(pool)).toEqual([]);
      const rows = (await pool.query<{ id: number; name: string; checksum: string; applied_at: string }>('SELECT * FROM schema_migrations ORDER BY id')).rows;
      expect(rows.map((r) => [r.id, r.name, r.checksum])).toEqual(MIGRATIONS.map((m) => [m.id, m.name, checksum(m)]));
      expect(Math.abs(Number(rows[0]?.applied_at) - Date.now())).toBeLessThan(60_000);
    } finally {
      await pool.end();
    }
  });

  it('refuses a database that a newer remediator migrated, naming both versions', async () => {
    const url = await freshDatabase();
    const first = new PostgresRunStore({ url });
    await first.open();
    await first.close();
    await withClient(url, (c) => c.query(`INSERT INTO schema_migrations (id, name, checksum, applied_at) VALUES (999, 'from-the-future', 'sha256:x', 0)`));
    const store = new PostgresRunStore({ url });
    const refusal = store.open();
    await expect(refusal).rejects.toMatchObject({ code: 'STORE_UNAVAILABLE' });
    const latest = Math.max(...MIGRATIONS.map((m) => m.id));
    await expect(refusal).rejects.toThrow(`the database has migration 999, this code knows up to ${latest}`);
    await expect(store.ping()).rejects.toMatchObject({ code: 'STORE_UNAVAILABLE' });
  });

  it('refuses a database whose applied migration differs from the code', async () => {
    const url = await freshDatabase();
    const first = new PostgresRunStore({ url });
    await first.open();
    await first.close();
    await withClient(url, (c) => c.query(`UPDATE schema_migrations SET checksum = 'sha256:edited' WHERE id = 1`));
    await expect(new PostgresRunStore({ url }).open()).rejects.toThrow('PostgreSQL migration 1 (initial) was applied from a different text');
  });

  it('numbers migrations in order, without gaps, from 1', () => {
    expect(MIGRATIONS.map((m) => m.id)).toEqual(MIGRATIONS.map((_, i) => i + 1));
  });
});
