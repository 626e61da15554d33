/** The whole service built in this test process on a free loopback port, with a real SQLite file and real runbooks. */

import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import type { Server } from 'node:http';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { parseConfigText, resolveConfig, type Config } from '../../src/config/config.js';
import { createLogger } from '../../src/observability/logger.js';
import { buildService, type Service } from '../../src/service.js';

export interface InProcess {
  readonly dir: string;
  readonly url: string;
  readonly config: Config;
  readonly service: Service;
  /** fetch with the bearer token of every role. */
  api(method: string, urlPath: string, body?: unknown, headers?: Record<string, string>): Promise<{ status: number; json: unknown; text: string }>;
  close(): Promise<void>;
}

export const TOKEN = 'test-token-0123456789';

/** Writes runbooks (file name -> YAML) and a config (extra YAML appended) into a fresh folder and starts the service. */
export async function startInProcess(
  runbooks: Record<string, string>,
  extraConfig = '',
  dir?: string,
  env: NodeJS.ProcessEnv = process.env,
  port = 0,
): Promise<InProcess> {
  const root = dir ?? mkdtempSync(path.join(tmpdir(), 'remediator-acc-'));
  mkdirSync(path.join(root, 'runbooks'), { recursive: true });
  for (const [name, text] of Object.entries(runbooks)) writeFileSync(path.join(root, 'runbooks', name), text);
  writeFileSync(path.join(root, 'token'), TOKEN);
  const text = [
    `listen: 127.0.0.1:${port === 0 ? 1 : port}`,
    'runbooks: ./runbooks',
    'store: { url: "sqlite:./data/remediator.db" }',
    'auth:',
    '  webhook: { bearerTokenFile: token }',
    '  operate: { bearerTokenFile: token }',
    '  read: { bearerTokenFile: token }',
    extraConfig,
  ].join('\n');
  const file = path.join(root, 'remediator.yaml');
  writeFileSync(file, text);
  const config = resolveConfig(parseConfigText(text, file), file, root);
  const logger = createLogger({ level: 'silent' });
  const service = await buildService(config, logger, { defaultMetrics: false, env });
  const server: Server = await new Promise((resolve) => {
    const s = service.app.listen(port, '127.0.0.1', () => resolve(s));
  });
  const address = server.address();
  const url = `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}`;
  return {
    dir: root,
    url,
    config,
    service,
    async api(method, urlPath, body, headers = {}) {
      const res = await fetch(url + urlPath, {
        method,
        headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json', ...headers },
        body: body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body),
      });
      const textBody = await res.text();
      let json: unknown = null;
      try {
        json = JSON.parse(textBody);
      } catch {
        json = null;
      }
      return { status: res.status, json, text: textBody };
    },
    async close() {
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
      await service.stop(2_000);
    },
  };
}

/** A version-4 webhook body carrying the given alerts. */
export function webhookBody(alerts: Array<{ labels: Record<string, string>; startsAt?: string; status?: 'firing' | 'resolved'; fingerprint?: string; annotations?: Record<string, string> }>): Record<string, unknown> {
  return {
    version: '4',
    groupKey: '{}:{alertname="Test"}',
    truncatedAlerts: 0,
    status: alerts.some((a) => (a.status ?? 'firing') === 'firing') ? 'firing' : 'resolved',
    receiver: 'remediator',
    groupLabels: {},
    commonLabels: {},
    commonAnnotations: {},
    externalURL: 'http://127.0.0.1:9093',
    alerts: alerts.map((a) => ({
      status: a.status ?? 'firing',
      labels: a.labels,
      annotations: a.annotations ?? {},
      startsAt: a.startsAt ?? '2026-11-26T14:31:52.553Z',
      endsAt: a.status === 'resolved' ? '2026-11-26T14:35:52.553Z' : '0001-01-01T00:00:00Z',
      generatorURL: 'http://127.0.0.1:9090/graph',
      fingerprint: a.fingerprint ?? 'abcdef0123456789',
    })),
  };
}

/** Polls fn until it returns a value that is not undefined, or fails after timeoutMs. */
export async function eventually<T>(fn: () => Promise<T | undefined>, timeoutMs = 15_000, what = 'condition'): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const v = await fn();
      if (v !== undefined) return v;
    } catch (err) {
      last = err;
    }
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}${last ? `: ${String(last)}` : ''}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}
