import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from '@jest/globals';
import YAML from 'yaml';
import { parseDuration } from '../../src/core/duration.js';
import { parseConfigText } from '../../src/config/config.js';
import { hostPolicy } from '../../src/receive/host-guard.js';
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
    ['amtool accepts alertmanager-ha.yml', amtool, ['check-config', 'alertmanager-ha.yml']],
    ['promtool accepts prometheus.yml and its rule files', promtool, ['check', 'config', 'prometheus.yml']],
    ['promtool accepts the alert rules', promtool, ['check', 'rules', 'rules/llm-serving.yml']],
    ['the alert rules pass their promtool unit tests', promtool, ['test', 'rules', 'rules/tests/llm-serving.test.yml']],
  ])('%s', async (_name, tool, args) => {
    const result = await runTool(tool(), args);
    expect(result).toMatchObject({ code: 0 });
    expect(result.output).toContain('SUCCESS');
  });

  it.each(
    ['alertmanager.yml', 'alertmanager-ha.yml'].flatMap((file) =>
      [
        [['alertname=LLMServerDown', 'runbook=llm-server-down'], 'remediator,oncall'] as const,
        [['alertname=RemediationFailed', 'runbook=llm-server-down'], 'oncall'] as const,
        [['alertname=RemediatorDown', 'runbook=remediator-down', 'job=remediator'], 'oncall'] as const,
        [['alertname=DiskFull'], 'oncall'] as const,
      ].map(([labels, receivers]) => [file, labels, receivers] as const),
    ),
  )('%s routes %j to %s', async (file, labels, receivers) => {
    const result = await runTool(amtool(), ['config', 'routes', 'test', `--config.file=${file}`, ...labels]);
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

// ---- deploy/kubernetes/replicas: three replicas on PostgreSQL, and the HA Alertmanager in front ----

const REPLICAS = path.join(DEPLOY, 'kubernetes', 'replicas');

type Labels = Record<string, string>;

interface K8sObject {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string };
}

interface Container {
  name: string;
  args: string[];
  ports: { name: string; containerPort: number }[];
  lifecycle?: { preStop?: { exec?: { command: string[] } } };
  livenessProbe: { httpGet: { path: string; port: string } };
  readinessProbe: { httpGet: { path: string; port: string } };
  resources: unknown;
  securityContext: unknown;
  volumeMounts: { name: string; mountPath: string }[];
}

interface Volume {
  name: string;
  secret?: { secretName: string };
  configMap?: { name: string };
  persistentVolumeClaim?: unknown;
  emptyDir?: unknown;
}

interface Deployment extends K8sObject {
  spec: {
    replicas: number;
    strategy: { type: string };
    selector: { matchLabels: Labels };
    template: {
      metadata: { labels: Labels };
      spec: {
        terminationGracePeriodSeconds: number;
        securityContext: unknown;
        affinity?: {
          podAntiAffinity?: {
            preferredDuringSchedulingIgnoredDuringExecution?: {
              weight: number;
              podAffinityTerm: { topologyKey: string; labelSelector: { matchLabels: Labels } };
            }[];
          };
        };
        containers: Container[];
        volumes: Volume[];
      };
    };
  };
}

function replicasDoc<T = K8sObject & Record<string, unknown>>(file: string): T {
  return YAML.parse(fs.readFileSync(path.join(REPLICAS, file), 'utf8')) as T;
}

function replicasResources(): string[] {
  return replicasDoc<{ resources: string[] }>('kustomization.yaml').resources;
}

/** Every object the replicas' kustomization applies. */
function replicasObjects(): (K8sObject & Record<string, unknown>)[] {
  return replicasResources().map((file) => replicasDoc(file));
}

function replicasDeployment(): Deployment {
  return replicasDoc<Deployment>('deployment.yaml');
}

/** The one object of a kind among the replicas' resources. */
function replicasObject<T>(kind: string, name?: string): T {
  const found = replicasObjects().filter((o) => o.kind === kind && (name === undefined || o.metadata.name === name));
  expect(found.map((o) => `${o.kind}/${o.metadata.name}`)).toHaveLength(1);
  return found[0] as T;
}

/** The config file the Deployment's container is started with, read from the Secret or ConfigMap mounted there. */
function replicasConfigText(): string {
  const pod = replicasDeployment().spec.template.spec;
  const container = pod.containers[0];
  const configFile = container?.args[container.args.indexOf('--config') + 1] ?? '';
  const mount = container?.volumeMounts.find((m) => path.dirname(configFile) === m.mountPath);
  const volume = pod.volumes.find((v) => v.name === mount?.name);
  const source = volume?.secret
    ? replicasObject<{ stringData?: Record<string, string> }>('Secret', volume.secret.secretName).stringData
    : volume?.configMap
      ? replicasObject<{ data?: Record<string, string> }>('ConfigMap', volume.configMap.name).data
      : undefined;
  const text = source?.[path.basename(configFile)];
  if (text === undefined) throw new Error(`no mounted Secret or ConfigMap key holds ${configFile}`);
  return text;
}

function replicasConfig() {
  return parseConfigText(replicasConfigText(), 'remediator.yaml');
}

function isSubset(wanted: Labels, labels: Labels): boolean {
  return Object.keys(wanted).length > 0 && Object.entries(wanted).every(([k, v]) => labels[k] === v);
}

describe('the three-replica Kubernetes manifests (deploy/kubernetes/replicas)', () => {
  it('lists every manifest of its folder in kustomization.yaml, each one Kubernetes object in the remediator namespace', () => {
    const kustomization = replicasDoc<{ namespace: string; resources: string[] }>('kustomization.yaml');
    const files = fs.readdirSync(REPLICAS).filter((f) => /\.ya?ml$/.test(f) && f !== 'kustomization.yaml');
    expect([...kustomization.resources].sort()).toEqual(files.sort());
    expect(kustomization.namespace).toBe('remediator');
    for (const object of replicasObjects()) {
      expect(object).toMatchObject({ apiVersion: expect.any(String), kind: expect.any(String), metadata: { name: expect.any(String) } });
    }
  });

  it.each(['namespace.yaml', 'runbooks-configmap.yaml', 'secret.yaml'])('keeps %s the same as the single-replica set', (file) => {
    expect(replicasDoc(file)).toEqual(kubernetesDoc(file));
  });

  it('runs three replicas with a rolling update and no PersistentVolumeClaim', () => {
    const spec = replicasDeployment().spec;
    expect(spec.replicas).toBe(3);
    expect(spec.strategy.type).toBe('RollingUpdate');
    expect(spec.template.spec.volumes.filter((v) => v.persistentVolumeClaim !== undefined || v.emptyDir === undefined && v.secret === undefined && v.configMap === undefined)).toEqual([]);
    expect(replicasObjects().filter((o) => o.kind === 'PersistentVolumeClaim')).toEqual([]);
  });

  it('probes readiness on /-/ready and liveness on /-/healthy, routes the service has, on the container port', () => {
    const container = replicasDeployment().spec.template.spec.containers[0];
    expect(container?.readinessProbe.httpGet.path).toBe('/-/ready');
    expect(container?.livenessProbe.httpGet.path).toBe('/-/healthy');
    const routes = fs.readFileSync(path.join(REPO_ROOT, 'src', 'control-routes.ts'), 'utf8');
    for (const probe of [container?.readinessProbe, container?.livenessProbe]) {
      expect(routes).toContain(`router.get('${probe?.httpGet.path ?? ''}'`);
      expect(container?.ports.map((p) => p.name)).toContain(probe?.httpGet.port);
    }
  });

  it('waits longer on termination than preStop, limits.shutdownGrace and killGrace of the config it mounts', () => {
    const pod = replicasDeployment().spec.template.spec;
    const limits = replicasConfig().limits;
    const preStop = pod.containers[0]?.lifecycle?.preStop?.exec?.command ?? [];
    const preStopMs = preStop[0] === 'sleep' ? Number(preStop[1]) * 1000 : 0;
    expect(Number.isFinite(preStopMs)).toBe(true);
    const shutdownMs = (parseDuration(limits.shutdownGrace) ?? Infinity) + (parseDuration(limits.killGrace) ?? Infinity);
    expect(pod.terminationGracePeriodSeconds * 1000).toBeGreaterThan(preStopMs + shutdownMs);
  });

  it("has a PodDisruptionBudget of minAvailable 2 that selects the Deployment's pods, as the Service does", () => {
    const deployment = replicasDeployment();
    const podLabels = deployment.spec.template.metadata.labels;
    const pdb = replicasObject<K8sObject & { spec: { minAvailable: number; selector: { matchLabels: Labels } } }>('PodDisruptionBudget');
    expect(pdb.apiVersion).toBe('policy/v1');
    expect(pdb.spec.minAvailable).toBe(2);
    expect(pdb.spec.minAvailable).toBeLessThan(deployment.spec.replicas);
    expect(isSubset(pdb.spec.selector.matchLabels, podLabels)).toBe(true);
    expect(isSubset(deployment.spec.selector.matchLabels, podLabels)).toBe(true);
    const service = replicasObject<K8sObject & { spec: { selector: Labels; ports: { port: number; targetPort: string }[] } }>('Service');
    expect(isSubset(service.spec.selector, podLabels)).toBe(true);
    expect(deployment.spec.template.spec.containers[0]?.ports.map((p) => p.name)).toContain(service.spec.ports[0]?.targetPort);
  });

  it('prefers one pod per node (anti-affinity on the pods’ own labels)', () => {
    const spec = replicasDeployment().spec.template;
    const terms = spec.spec.affinity?.podAntiAffinity?.preferredDuringSchedulingIgnoredDuringExecution ?? [];
    expect(
      terms.some((t) => t.podAffinityTerm.topologyKey === 'kubernetes.io/hostname' && isSubset(t.podAffinityTerm.labelSelector.matchLabels, spec.metadata.labels)),
    ).toBe(true);
  });

  it('keeps the securityContext and resources of the single-replica Deployment', () => {
    const single = kubernetesDoc('deployment.yaml') as unknown as Deployment;
    const replicas = replicasDeployment();
    expect(replicas.spec.template.spec.securityContext).toEqual(single.spec.template.spec.securityContext);
    expect(replicas.spec.template.spec.containers[0]?.securityContext).toEqual(single.spec.template.spec.containers[0]?.securityContext);
    expect(replicas.spec.template.spec.containers[0]?.resources).toEqual(single.spec.template.spec.containers[0]?.resources);
  });

  it('mounts a configuration, from a Secret, that the service accepts and that names a PostgreSQL store', () => {
    const pod = replicasDeployment().spec.template.spec;
    const container = pod.containers[0];
    const configFile = container?.args[container.args.indexOf('--config') + 1] ?? '';
    const configVolume = pod.volumes.find((v) => v.name === container?.volumeMounts.find((m) => m.mountPath === path.dirname(configFile))?.name);
    expect(configVolume?.secret).toBeDefined();
    const config = replicasConfig();
    expect(config.store.url).toMatch(/^postgres(ql)?:\/\//);
    expect(() => new URL(config.store.url)).not.toThrow();
    expect(Number(config.listen.split(':').pop())).toBe(container?.ports[0]?.containerPort);
  });

  it('finds the runbooks and every token file the config names on the volumes the pods mount', () => {
    const pod = replicasDeployment().spec.template.spec;
    const mounts = pod.containers[0]?.volumeMounts ?? [];
    const config = replicasConfig();
    const runbooks = pod.volumes.find((v) => v.name === mounts.find((m) => m.mountPath === config.runbooks)?.name);
    expect(runbooks?.configMap?.name).toBe(replicasObject<K8sObject>('ConfigMap', 'remediator-runbooks').metadata.name);
    const tokenFiles = (['webhook', 'read', 'operate'] as const).map((role) => config.auth[role]?.bearerTokenFile ?? '');
    for (const file of tokenFiles) {
      const volume = pod.volumes.find((v) => v.name === mounts.find((m) => m.mountPath === path.dirname(file))?.name);
      const secret = replicasObject<{ stringData?: Record<string, string> }>('Secret', volume?.secret?.secretName ?? '(no secret volume)');
      expect(Object.keys(secret.stringData ?? {})).toContain(path.basename(file));
    }
  });

  it('defines every ConfigMap and Secret that the pods mount', () => {
    const defined = new Set(replicasObjects().map((o) => `${o.kind}/${o.metadata.name}`));
    const mounted = replicasDeployment().spec.template.spec.volumes.flatMap((v) => [
      ...(v.secret ? [`Secret/${v.secret.secretName}`] : []),
      ...(v.configMap ? [`ConfigMap/${v.configMap.name}`] : []),
    ]);
    expect(mounted.length).toBeGreaterThan(0);
    expect(mounted.filter((m) => !defined.has(m))).toEqual([]);
  });

  it("has the HA Alertmanager send the webhook to the replicas' Service, with send_resolved, no alert limit and a bearer token file", () => {
    const ha = YAML.parse(fs.readFileSync(path.join(DEPLOY, 'alertmanager-ha.yml'), 'utf8')) as {
      receivers: { name: string; webhook_configs?: { url: string; http_config?: unknown }[] }[];
    };
    const hook = ha.receivers.find((r) => r.name === 'remediator')?.webhook_configs?.[0];
    const service = replicasObject<K8sObject & { spec: { ports: { port: number }[] } }>('Service');
    const namespace = replicasDoc<{ namespace: string }>('kustomization.yaml').namespace;
    expect(hook).toEqual({
      url: `http://${service.metadata.name}.${namespace}.svc:${service.spec.ports[0]?.port ?? 0}/api/v1/alerts`,
      send_resolved: true,
      max_alerts: 0,
      http_config: { authorization: { type: 'Bearer', credentials_file: expect.stringMatching(/^\/.+\.token$/) } },
    });
    // The Host Alertmanager sends is one the replicas serve (else 421, which Alertmanager does not retry).
    const config = replicasConfig();
    const listenPort = Number(config.listen.split(':').pop());
    const policy = hostPolicy({ listen: { host: '0.0.0.0', port: listenPort }, publicURL: config.publicURL ?? `http://${config.listen}`, allowedHosts: config.allowedHosts });
    expect(policy.allows(new URL(hook?.url ?? 'http://invalid').host)).toBe(true);
    expect(policy.allows(`${service.metadata.name}.${namespace}.svc.cluster.local:${listenPort}`)).toBe(true);
  });
});
