/** A real Prometheus (Debian's 2.42) for tests: scrapes test exporters, evaluates rules, alerts a real Alertmanager. */
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

/** Options for startPrometheus; durations in Prometheus syntax. */
export interface PrometheusOptions {
  /** YAML text of rule files' content (`groups: [...]`); empty or absent for no rules. */
  rules?: string;
  /** host:port of each scrape target (e.g. an exporter's hostPort). */
  scrapeTargets?: readonly string[];
  /** Base URL of the Alertmanager to send alerts to. */
  alertmanagerUrl?: string;
  evaluationInterval?: string;
  scrapeInterval?: string;
  /** The scrape job name, i.e. the `job` label of scraped series. */
  jobName?: string;
  /** Whole scrape_configs entries, instead of the one job of scrapeTargets. */
  scrapeConfigs?: readonly Record<string, unknown>[];
  /** How often firing alerts are re-sent to Alertmanager (Prometheus' default is 1m; tests want it short). */
  resendDelay?: string;
}

/** A running Prometheus. */
export interface PrometheusHandle {
  url: string;
  pid: number;
  configPath: string;
  dir: string;
  child: ChildHandle;
  stop(): Promise<void>;
}

/** One sample of an instant query result. */
export interface PromSample {
  metric: Record<string, string>;
  value: [number, string];
}

/** Builds the Prometheus configuration text for the options (rules live in rules.yml next to it). */
export function prometheusConfig(options: PrometheusOptions): string {
  const config: Record<string, unknown> = {
    global: {
      scrape_interval: options.scrapeInterval ?? '1s',
      scrape_timeout: options.scrapeInterval ?? '1s',
      evaluation_interval: options.evaluationInterval ?? '1s',
    },
    scrape_configs: options.scrapeConfigs ?? [{ job_name: options.jobName ?? 'test', static_configs: [{ targets: [...(options.scrapeTargets ?? [])] }] }],
  };
  if (options.rules?.trim()) config.rule_files = ['rules.yml'];
  if (options.alertmanagerUrl) {
    const am = new URL(options.alertmanagerUrl);
    config.alerting = {
      alertmanagers: [
        {
          scheme: am.protocol.replace(':', ''),
          path_prefix: am.pathname === '/' ? undefined : am.pathname,
          static_configs: [{ targets: [am.host] }],
        },
      ],
    };
  }
  return YAML.stringify(config);
}

/** Starts Prometheus on a free loopback port; waits until it is ready and, when alerting, until it has found Alertmanager. */
export async function startPrometheus(options: PrometheusOptions): Promise<PrometheusHandle> {
  const binary = findBinary('PROMETHEUS_BIN', ['prometheus'], 'prometheus');
  const dir = makeTempDir('prometheus');
  const configPath = path.join(dir, 'prometheus.yml');
  fs.writeFileSync(configPath, prometheusConfig(options));
  if (options.rules?.trim()) fs.writeFileSync(path.join(dir, 'rules.yml'), options.rules);
  const start = (port: number): Promise<ChildHandle> =>
    startChild(
      binary,
      [
        `--config.file=${configPath}`,
        `--storage.tsdb.path=${path.join(dir, 'data')}`,
        `--web.listen-address=127.0.0.1:${port}`,
        `--rules.alert.resend-delay=${options.resendDelay ?? '1s'}`,
        '--web.enable-lifecycle',
        '--log.level=info',
      ],
      { cwd: dir, name: 'prometheus', logFile: path.join(dir, 'prometheus.log') },
    );
  const ready = async (port: number, child: ChildHandle): Promise<void> => {
    const abortIf = (): string | undefined => (child.exitStatus() ? 'Prometheus exited' : undefined);
    const base = `http://127.0.0.1:${port}`;
    await waitFor(() => answers200(`${base}/-/ready`), { description: 'Prometheus /-/ready', abortIf });
    if (options.alertmanagerUrl) {
      const host = new URL(options.alertmanagerUrl).host;
      await waitFor(() => knowsAlertmanager(base, host), {
        description: `Prometheus to list Alertmanager ${host} in /api/v1/alertmanagers`,
        timeoutMs: 60_000,
        abortIf,
      });
    }
  };
  const { port, child } = await startOnFreePort(start, ready);
  return {
    url: `http://127.0.0.1:${port}`,
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

/** Runs an instant query and returns its vector; throws on an error answer or a non-vector result. */
export async function query(promUrl: string, promql: string): Promise<PromSample[]> {
  const body = await fetchJson<{ status: string; data: { resultType: string; result: PromSample[] }; error?: string }>(
    `${promUrl}/api/v1/query?${new URLSearchParams({ query: promql }).toString()}`,
  );
  if (body.status !== 'success') throw new Error(`query ${promql} failed: ${body.error ?? body.status}`);
  if (body.data.resultType !== 'vector') throw new Error(`query ${promql} gave a ${body.data.resultType}, not a vector`);
  return body.data.result;
}

async function knowsAlertmanager(promUrl: string, amHost: string): Promise<true | undefined> {
  const body = await fetchJson<{ data: { activeAlertmanagers: { url: string }[] } }>(`${promUrl}/api/v1/alertmanagers`);
  return body.data.activeAlertmanagers.some((am) => new URL(am.url).host === amHost) ? true : undefined;
}
