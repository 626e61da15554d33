/** A real Alertmanager (Debian's 0.25) for tests, routing every alert to one webhook receiver. */
import fs from 'node:fs';
import path from 'node:path';
import YAML from 'yaml';
import { findBinary } from './binaries.js';
import { startChild } from './child.js';
import type { ChildHandle } from './child.js';
import { answers200, fetchJson } from './http.js';
import { startOnFreePort } from './start-on-free-port.js';
import { makeTempDir, removeTempDir } from './temp-dir.js';
import { waitFor } from './wait-for.js';

/** Options for startAlertmanager; durations in Alertmanager syntax. */
export interface AlertmanagerOptions {
  webhookUrl: string;
  /** File holding a bearer token that Alertmanager sends as `Authorization: Bearer <token>`. */
  credentialsFile?: string;
  groupWait?: string;
  groupInterval?: string;
  repeatInterval?: string;
  resolveTimeout?: string;
  /** Labels to group by; default alertname, as in the shared fixtures. */
  groupBy?: readonly string[];
  receiverName?: string;
  maxAlerts?: number;
  /** Whether resolved notifications are sent (default true). */
  sendResolved?: boolean;
}

/** A running Alertmanager. */
export interface AlertmanagerHandle {
  url: string;
  hostPort: string;
  pid: number;
  configPath: string;
  dir: string;
  child: ChildHandle;
  stop(): Promise<void>;
}

/** An alert as POST /api/v2/alerts takes it. */
export interface PostableAlert {
  labels: Record<string, string>;
  annotations?: Record<string, string>;
  startsAt?: string;
  endsAt?: string;
  generatorURL?: string;
}

/** An alert as GET /api/v2/alerts answers it. */
export interface GettableAlert extends PostableAlert {
  fingerprint: string;
  startsAt: string;
  endsAt: string;
  updatedAt: string;
  receivers: { name: string }[];
  status: { state: 'unprocessed' | 'active' | 'suppressed'; silencedBy: string[]; inhibitedBy: string[] };
}

/** Builds the Alertmanager configuration text for the options. */
export function alertmanagerConfig(options: AlertmanagerOptions): string {
  const receiver = options.receiverName ?? 'remediator';
  const webhook: Record<string, unknown> = { url: options.webhookUrl, send_resolved: options.sendResolved ?? true, max_alerts: options.maxAlerts ?? 0 };
  if (options.credentialsFile) {
    webhook.http_config = { authorization: { type: 'Bearer', credentials_file: options.credentialsFile } };
  }
  return YAML.stringify({
    global: { resolve_timeout: options.resolveTimeout ?? '5m' },
    route: {
      receiver,
      group_by: [...(options.groupBy ?? ['alertname'])],
      group_wait: options.groupWait ?? '1s',
      group_interval: options.groupInterval ?? '1s',
      repeat_interval: options.repeatInterval ?? '1h',
    },
    receivers: [{ name: receiver, webhook_configs: [webhook] }],
  });
}

/** Starts Alertmanager on a free loopback port with clustering off, and waits for /-/ready. */
export async function startAlertmanager(options: AlertmanagerOptions): Promise<AlertmanagerHandle> {
  const binary = findBinary('ALERTMANAGER_BIN', ['prometheus-alertmanager', 'alertmanager'], 'prometheus-alertmanager');
  const dir = makeTempDir('alertmanager');
  const configPath = path.join(dir, 'alertmanager.yml');
  fs.writeFileSync(configPath, alertmanagerConfig(options));
  const start = (port: number): Promise<ChildHandle> =>
    startChild(
      binary,
      [
        `--config.file=${configPath}`,
        `--storage.path=${path.join(dir, 'data')}`,
        `--web.listen-address=127.0.0.1:${port}`,
        `--web.external-url=http://127.0.0.1:${port}`,
        '--cluster.listen-address=',
        '--log.level=debug',
      ],
      { cwd: dir, name: 'alertmanager', logFile: path.join(dir, 'alertmanager.log') },
    );
  const ready = async (port: number, child: ChildHandle): Promise<void> => {
    await waitFor(() => answers200(`http://127.0.0.1:${port}/-/ready`), {
      description: 'Alertmanager /-/ready',
      abortIf: () => (child.exitStatus() ? 'Alertmanager exited' : undefined),
    });
  };
  const { port, child } = await startOnFreePort(start, ready);
  return {
    url: `http://127.0.0.1:${port}`,
    hostPort: `127.0.0.1:${port}`,
    pid: child.pid,
    configPath,
    dir,
    child,
    stop: async () => {
      await child.stop();
      removeTempDir(dir);
    },
  };
}

/** Posts alerts through POST /api/v2/alerts; throws with Alertmanager's answer when it is not 200. */
export async function postAlerts(amUrl: string, alerts: readonly PostableAlert[]): Promise<void> {
  await fetchJson<unknown>(`${amUrl}/api/v2/alerts`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(alerts),
  });
}

/** Lists alerts through GET /api/v2/alerts, with matchers given as `name="value"` strings or as an exact-match label map. */
export async function listAlerts(amUrl: string, filter: readonly string[] | Record<string, string> = []): Promise<GettableAlert[]> {
  const matchers = Array.isArray(filter)
    ? (filter as readonly string[])
    : Object.entries(filter).map(([name, value]) => `${name}=${JSON.stringify(value)}`);
  const query = new URLSearchParams(matchers.map((m): [string, string] => ['filter', m]));
  return fetchJson<GettableAlert[]>(`${amUrl}/api/v2/alerts?${query.toString()}`);
}

/** A silence as GET /api/v2/silences answers it. */
export interface GettableSilence {
  id: string;
  status: { state: 'active' | 'pending' | 'expired' };
  matchers: { name: string; value: string; isRegex: boolean; isEqual?: boolean }[];
  startsAt: string;
  endsAt: string;
  updatedAt: string;
  createdBy: string;
  comment: string;
}

/** Lists silences through GET /api/v2/silences (all states; 0.25 has no state filter). */
export async function listSilences(amUrl: string): Promise<GettableSilence[]> {
  return fetchJson<GettableSilence[]>(`${amUrl}/api/v2/silences`);
}
