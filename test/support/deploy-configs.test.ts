import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from '@jest/globals';
import YAML from 'yaml';
import { parseDuration } from '../../src/core/duration.js';
import { parseConfigText } from '../../src/config/config.js';
import { findBinary } from './binaries.js';
import { startChild } from './child.js';
import { REPO_ROOT } from './service.js';

const DEPLOY = path.join(REPO_ROOT, 'deploy');

/** Runs a tool to completion and returns its exit code and output. */
async function runTool(binary: string, args: string[]): Promise<{ code: number | null; output: string }> {
  const child = await startChild(binary, args, { cwd: DEPLOY });
  const exit = await child.exited;
  return { code: exit.code, output: child.output() };
}

const amtool = (): string => findBinary('AMTOOL_BIN', ['amtool'], 'prometheus-alertmanager');
const promtool = (): string => findBinary('PROMTOOL_BIN', ['promtool'], 'prometheus');

interface RuleFile {
  groups: { name: string; rules: { alert?: string; labels?: Record<string, string> }[] }[];
}

describe('the deploy/ configurations', () => {
  it.each([
    ['amtool accepts alertmanager.yml', amtool, ['check-config', 'alertmanager.yml']],
    ['promtool accepts prometheus.yml and its rule files', promtool, ['check', 'config', 'prometheus.yml']],
    ['promtool accepts the alert rules', promtool, ['check', 'rules', 'rules/llm-serving.yml']],
    ['the alert rules pass their promtool unit tests', promtool, ['test', 'rules', 'rules/tests/llm-serving.test.yml']],
  ])('%s', async (_name, tool, args) => {
    const result = await runTool(tool(), args);
    expect(result).toMatchObject({ code: 0 });
    expect(result.output).toContain('SUCCESS');
  });

  it.each([
    [['alertname=LLMServerDown', 'runbook=llm-server-down'], 'remediator,oncall'],
    [['alertname=RemediationFailed', 'runbook=llm-server-down'], 'oncall'],
    [['alertname=DiskFull'], 'oncall'],
  ])('Alertmanager routes %j to %s', async (labels, receivers) => {
    const result = await runTool(amtool(), ['config', 'routes', 'test', '--config.file=alertmanager.yml', ...labels]);
    expect(result.code).toBe(0);
    // amtool warns on stderr that the config file wins over its default URL; the answer is the other line.
    const answer = result.output.split('\n').filter((line) => line.trim() !== '' && !line.startsWith('Warning:'));
    expect(answer).toEqual([receivers]);
  });

  it('sends the remediator webhook with send_resolved, no alert limit and a bearer token file', () => {
    const config = YAML.parse(fs.readFileSync(path.join(DEPLOY, 'alertmanager.yml'), 'utf8')) as {
      receivers: { name: string; webhook_configs?: Record<string, unknown>[] }[];
    };
    const hook = config.receivers.find((r) => r.name === 'remediator')?.webhook_configs?.[0];
    expect(hook).toEqual({
      url: 'http://127.0.0.1:9095/api/v1/alerts',
      send_resolved: true,
      max_alerts: 0,
      http_config: { authorization: { type: 'Bearer', credentials_file: '/etc/remediator/webhook.token' } },
    });
  });

  it('gives every alert rule a runbook label that is a kebab-case runbook name', () => {
    const rules = (YAML.parse(fs.readFileSync(path.join(DEPLOY, 'rules', 'llm-serving.yml'), 'utf8')) as RuleFile).groups.flatMap(
      (g) => g.rules,
    );
    expect(rules.length).toBeGreaterThan(5);
    const unlabelled = rules.filter((rule) => !/^[a-z0-9]+(-[a-z0-9]+)*$/.test(rule.labels?.runbook ?? '')).map((rule) => rule.alert);
    expect(unlabelled).toEqual([]);
  });

  it('gives every shipped runbook an alert rule that can fire it', () => {
    const text = fs.readFileSync(path.join(DEPLOY, 'rules', 'llm-serving.yml'), 'utf8');
    const alerts = new Set((YAML.parse(text) as RuleFile).groups.flatMap((g) => g.rules.map((r) => r.alert)));
    const runbookDir = path.join(REPO_ROOT, 'runbooks');
    const wanted = fs
      .readdirSync(runbookDir)
      .filter((f) => /\.ya?ml$/.test(f))
      .flatMap((f) => [...fs.readFileSync(path.join(runbookDir, f), 'utf8').matchAll(/alertname\s*=\s*"([^"]+)"/g)].map((m) => m[1]));
    expect(wanted.filter((alertname) => !alerts.has(alertname))).toEqual([]);
  });

  it.each([
    ['deploy/remediator.yaml', () => fs.readFileSync(path.join(DEPLOY, 'remediator.yaml'), 'utf8')],
    ['the Kubernetes ConfigMap', () => String(kubernetesDoc('configmap.yaml').data?.['remediator.yaml'])],
  ])('the service accepts the configuration in %s', (_name, read) => {
    expect(() => parseConfigText(read(), 'remediator.yaml')).not.toThrow();
  });

  it('lets the systemd unit wait longer on stop than the service takes to shut down', () => {
    const unit = fs.readFileSync(path.join(DEPLOY, 'systemd', 'remediator.service'), 'utf8');
    const config = YAML.parse(fs.readFileSync(path.join(DEPLOY, 'remediator.yaml'), 'utf8')) as { limits: Record<string, string> };
    const stopMs = parseDuration(/^TimeoutStopSec=(\S+)$/m.exec(unit)?.[1] ?? '') ?? 0;
    const shutdownMs = (parseDuration(config.limits.shutdownGrace ?? '') ?? 0) + (parseDuration(config.limits.killGrace ?? '') ?? 0);
    expect(stopMs).toBeGreaterThan(shutdownMs);
    expect(unit).toMatch(/^KillMode=control-group$/m);
    expect(unit).toMatch(/^User=remediator$/m);
    expect(unit).toMatch(/^ExecReload=\/bin\/kill -HUP \$MAINPID$/m);
  });

  it('runs one replica with a Recreate strategy and probes on /-/healthy and /-/ready in Kubernetes', () => {
    const deployment = kubernetesDoc('deployment.yaml');
    const spec = deployment.spec as { replicas: number; strategy: { type: string }; template: { spec: PodSpec } };
    const container = spec.template.spec.containers[0];
    expect(spec.replicas).toBe(1);
    expect(spec.strategy.type).toBe('Recreate');
    expect(container?.livenessProbe.httpGet.path).toBe('/-/healthy');
    expect(container?.readinessProbe.httpGet.path).toBe('/-/ready');
    expect(spec.template.spec.terminationGracePeriodSeconds).toBeGreaterThan(35);
  });
});

interface PodSpec {
  terminationGracePeriodSeconds: number;
  containers: { livenessProbe: { httpGet: { path: string } }; readinessProbe: { httpGet: { path: string } } }[];
}

function kubernetesDoc(file: string): Record<string, Record<string, unknown>> {
  return YAML.parse(fs.readFileSync(path.join(DEPLOY, 'kubernetes', file), 'utf8')) as Record<string, Record<string, unknown>>;
}
