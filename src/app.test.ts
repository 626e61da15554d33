import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from '@jest/globals';
import { Registry } from 'prom-client';
import request from 'supertest';
import { createApp } from './app.js';
import { createCatalogHolder } from './catalog-holder.js';
import { parseConfigText, resolveConfig } from './config/config.js';
import { RemediatorError } from './core/errors.js';
import type { RunStore } from './history/run-store.js';
import { SqliteRunStore } from './history/sqlite/sqlite-store.js';
import { createLogger } from './observability/logger.js';
import { createMetrics } from './observability/metrics.js';
import { createDelivery } from './pipeline.js';

const RUNBOOKS = fileURLToPath(new URL('../test/fixtures/runbooks/good', import.meta.url));
const body = {
  version: '4',
  status: 'firing',
  alerts: [{ status: 'firing', labels: { alertname: 'X' }, annotations: {}, startsAt: '2026-11-26T14:31:52.553Z', fingerprint: '0123456789abcdef' }],
};

let store: SqliteRunStore | null = null;
afterEach(async () => {
  await store?.close();
  store = null;
});

/** The real app over a real store whose chosen methods fail as a broken disk would make them. */
async function appWithFailing(methods: (keyof RunStore)[]) {
  const dir = mkdtempSync(path.join(tmpdir(), 'remediator-app-'));
  store = new SqliteRunStore({ path: path.join(dir, 'db.sqlite') });
  await store.open();
  const real = store;
  const failing = new Proxy(real, {
    get(target, prop, receiver) {
      if (methods.includes(prop as keyof RunStore)) {
        return () => Promise.reject(new RemediatorError('STORE_UNAVAILABLE', 'SQLite store could not commit: SQLITE_FULL'));
      }
      const v = Reflect.get(target, prop, receiver) as unknown;
      return typeof v === 'function' ? v.bind(target) : v;
    },
  }) as RunStore;
  const config = resolveConfig(parseConfigText(`runbooks: ${RUNBOOKS}\n`, null), null, dir);
  const metrics = createMetrics(new Registry());
  const catalog = await createCatalogHolder(RUNBOOKS, metrics);
  return createApp({
    config,
    store: failing,
    catalog,
    metrics,
    logger: createLogger({ level: 'silent' }),
    isDraining: () => false,
    deliver: createDelivery({
      match: (alert) => catalog.current().match(alert),
      commit: (guard) => failing.transact(guard),
      plan: { publicURL: config.publicURL },
      afterCommit: () => undefined,
    }),
    abortRun: () => undefined,
    onApproved: () => undefined,
    onEndedHere: () => undefined,
  });
}

/** One series' value in the app's /metrics text. */
async function sample(app: Awaited<ReturnType<typeof appWithFailing>>, series: string): Promise<number | undefined> {
  const line = (await request(app).get('/metrics')).text.split('\n').find((l) => l.startsWith(`${series} `));
  return line === undefined ? undefined : Number(line.slice(series.length + 1));
}

describe('createApp when the store cannot commit', () => {
  it('answers the webhook 503 STORE_UNAVAILABLE, so Alertmanager retries', async () => {
    const app = await appWithFailing(['transact']);
    const res = await request(app).post('/api/v1/alerts').send(body);
    expect(res.status).toBe(503);
    expect(res.body).toEqual({ error: { code: 'STORE_UNAVAILABLE', message: 'SQLite store could not commit: SQLITE_FULL' } });
    expect(await sample(app, 'remediator_webhook_deliveries_total{code="503"}')).toBe(1);
    expect(await sample(app, 'remediator_store_errors_total{stage="receive"}')).toBe(1);
  });

  it('counts a read the store cannot answer as an api store error', async () => {
    const app = await appWithFailing(['listRuns']);
    expect((await request(app).get('/api/v1/runs')).status).toBe(503);
    expect(await sample(app, 'remediator_store_errors_total{stage="api"}')).toBe(1);
    expect(await sample(app, 'remediator_store_errors_total{stage="receive"}')).toBe(0);
  });

  it('reports not ready while the store does not answer', async () => {
    const app = await appWithFailing(['ping']);
    const res = await request(app).get('/-/ready');
    expect(res.status).toBe(503);
    expect(res.body.error.code).toBe('NOT_READY');
    expect((await request(app).get('/-/healthy')).status).toBe(200);
  });

  it('answers 200 with the same app once the store works', async () => {
    const app = await appWithFailing([]);
    const res = await request(app).post('/api/v1/alerts').send(body);
    expect(res.status).toBe(200);
    expect(res.body.decisions).toHaveLength(1);
    expect(await sample(app, 'remediator_webhook_deliveries_total{code="200"}')).toBe(1);
    expect(await sample(app, 'remediator_store_errors_total{stage="receive"}')).toBe(0);
  });
});
