/**
 * Everything a rehearsal runs, started in order and stopped in reverse: sshd (one address per
 * host), the fleet's supervisor and gateway, Alertmanager, Prometheus with the shipped rules,
 * remediator with the shipped runbooks enforced, and the client load.
 */
import fs from 'node:fs';
import path from 'node:path';
import { startAlertmanager, type AlertmanagerHandle } from '../../../test/support/alertmanager.js';
import { stopAll } from '../../../test/support/child.js';
import { freePort } from '../../../test/support/free-port.js';
import { startPrometheus, type PrometheusHandle } from '../../../test/support/prometheus.js';
import { REPO_ROOT, startService, type ServiceHandle } from '../../../test/support/service.js';
import { startSshd, type TestSshd } from '../../../test/support/sshd.js';
import { makeTempDir } from '../../../test/support/temp-dir.js';
import { startFleet, type FleetHandle } from '../fleet/fleet-client.js';
import { startGateway, type GatewayHandle } from '../fleet/gateway-client.js';
import { startLoad, type LoadHandle } from '../fleet/load.js';
import { adaptRules, writeRunbooks } from './prepare.js';
import { remediatorApi, type RemediatorApi } from './remediator-api.js';
import { makeFleetSpec, MODEL, scrapeConfigs, type FleetSpec } from './topology.js';

/** Options of a rehearsal stack. */
export interface StackOptions {
  /** Multiplies every duration of the shipped rules and runbooks (default 0.1). */
  readonly timeScale?: number;
  /** Multiplies the runbooks' attempt-budget windows instead (default: the time scale); see Adaptation. */
  readonly budgetWindowScale?: number;
  /** Only these runbooks (file names without .yaml); default all. */
  readonly runbooks?: readonly string[];
  /** Client requests per second through the gateway (default 4). */
  readonly loadRate?: number;
  /** Log progress lines here (default: nowhere). */
  readonly log?: (line: string) => void;
}

/** A running rehearsal stack. */
export interface Stack {
  readonly dir: string;
  readonly fleet: FleetSpec;
  readonly fleetProcess: FleetHandle;
  readonly gateway: GatewayHandle;
  readonly gatewayUrl: string;
  readonly controlUrl: string;
  readonly prometheus: PrometheusHandle;
  readonly alertmanager: AlertmanagerHandle;
  readonly sshd: TestSshd;
  readonly service: ServiceHandle;
  readonly api: RemediatorApi;
  readonly load: LoadHandle;
  readonly log: (line: string) => void;
  stop(): Promise<void>;
}

const HOST_BIN = path.join(REPO_ROOT, 'deploy', 'demo', 'host-bin');
const HOST_HELPERS = path.join(REPO_ROOT, 'deploy', 'host');

/** Per host: who it is, where the supervisor is, and the stand-ins first on PATH. */
function hostEnvironment(fleet: FleetSpec): string {
  const controlUrl = `http://127.0.0.1:${fleet.controlPort}`;
  return fleet.hosts
    .map((h) =>
      [
        `Match LocalAddress ${h.ip}`,
        `  SetEnv FLEET_HOST=${h.name} FLEET_CONTROL_URL=${controlUrl} VLLM_ENV_DIR=${path.join(fleet.stateDir, 'hosts', h.name, 'etc', 'vllm')} PATH=${HOST_BIN}:${HOST_HELPERS}:/usr/local/bin:/usr/bin:/bin`,
      ].join('\n'),
    )
    .join('\n');
}

/** Starts the whole stack; on a failure part-way, stops what was started. */
export async function startStack(options: StackOptions = {}): Promise<Stack> {
  const log = options.log ?? (() => undefined);
  const timeScale = options.timeScale ?? 0.1;
  const dir = makeTempDir('rehearsal');
  try {
    const fleet = await makeFleetSpec(path.join(dir, 'fleet'), timeScale);
    const fleetFile = path.join(dir, 'fleet.json');
    fs.mkdirSync(fleet.stateDir, { recursive: true });
    fs.writeFileSync(fleetFile, JSON.stringify(fleet, null, 2));
    const gatewayUrl = `http://127.0.0.1:${fleet.gateway.port}`;
    const controlUrl = `http://127.0.0.1:${fleet.controlPort}`;

    log('starting sshd, the fleet and its gateway');
    const [sshd, fleetProcess, gateway] = await Promise.all([
      startSshd({ listen: fleet.hosts.map((h) => h.ip), extraConfig: () => hostEnvironment(fleet) }),
      startFleet(fleetFile),
      startGateway(fleetFile),
    ]);

    const servicePort = await freePort();
    const serviceHostPort = `127.0.0.1:${servicePort}`;
    log('starting Alertmanager and Prometheus with the shipped rules');
    const alertmanager = await startAlertmanager({ webhookUrl: `http://${serviceHostPort}/api/v1/alerts`, groupWait: '1s', groupInterval: '1s', repeatInterval: '10s' });
    // The fleet's rules; remediator.yml watches remediator itself and goes to people, never to this webhook.
    const ruleFiles = fs
      .readdirSync(path.join(REPO_ROOT, 'deploy', 'rules'))
      .filter((f) => /\.ya?ml$/.test(f) && f !== 'remediator.yml')
      .map((f) => path.join(REPO_ROOT, 'deploy', 'rules', f));
    const prometheus = await startPrometheus({
      rules: adaptRules(ruleFiles, { timeScale }),
      scrapeConfigs: scrapeConfigs(fleet, serviceHostPort),
      alertmanagerUrl: alertmanager.url,
    });

    const runbooksDir = path.join(dir, 'runbooks');
    writeRunbooks(path.join(REPO_ROOT, 'runbooks'), runbooksDir, { gatewayUrl, timeScale, budgetWindowScale: options.budgetWindowScale }, options.runbooks);
    log('starting remediator with the shipped runbooks, enforced');
    const service = await startService({
      dir,
      config: {
        listen: serviceHostPort,
        publicURL: `http://${serviceHostPort}`,
        runbooks: runbooksDir,
        store: { url: `sqlite:${path.join(dir, 'remediator.db')}` },
        prometheus: { url: prometheus.url },
        alertmanager: { url: alertmanager.url },
        ssh: { user: sshd.user, port: sshd.port, privateKeyFile: sshd.privateKeyFile, knownHostsFile: sshd.knownHostsFile, allowHosts: ['127.0.0.0/8'] },
        http: { allowHosts: ['127.0.0.0/8'] },
        limits: { killGrace: '2s', lease: '15s' },
      },
    });
    await service.waitReady();
    const load = startLoad({ gatewayUrl, model: MODEL, ratePerSecond: options.loadRate ?? 4, timeoutMs: 10_000, sloMs: 2_000 });
    const stop = async (): Promise<void> => {
      await load.stop();
      await service.stop(5_000);
      await Promise.allSettled([prometheus.stop(), alertmanager.stop(), gateway.stop(), fleetProcess.stop(), sshd.stop()]);
    };
    return { dir, fleet, fleetProcess, gateway, gatewayUrl, controlUrl, prometheus, alertmanager, sshd, service, api: remediatorApi(service.url), load, log, stop };
  } catch (thrown) {
    await stopAll();
    throw thrown;
  }
}
