import { describe, expect, it } from '@jest/globals';
import pg from 'pg';
import { dropDatabase, testDatabase } from './postgres.js';

describe('the private PostgreSQL cluster', () => {
  it('hands each test file a fresh database on the cluster the global setup started', async () => {
    const url = await testDatabase();
    const client = new pg.Client({ connectionString: url });
    await client.connect();
    try {
      const { rows } = await client.query<{ v: string; n: string }>("SELECT current_setting('server_version_num') AS v, (SELECT count(*) FROM pg_tables WHERE schemaname = 'public') AS n");
      expect(Number(rows[0]?.v)).toBeGreaterThanOrEqual(150000);
      expect(rows[0]?.n).toBe('0');
    } finally {
      await client.end();
      await dropDatabase(url);
    }
  });
});
