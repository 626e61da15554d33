/**
 * The hosts' side of the simulated fleet, one process:
 * `node build/demo/deploy/demo/fleet/supervisor.js --config fleet.json [--xid-count-window 5m] [--stop-timeout 5s]`.
 * Starts every unit, serves the control API and one dcgm exporter per host, prints `fleet ready` once every engine has loaded.
 */
import type http from 'node:http';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { createControlServer } from './control-api.js';
import { createDcgmServer } from './dcgm.js';
import { Fleet } from './fleet.js';
import { loadFleetConfig, type FleetConfig } from './fleet-config.js';
import { closeServer, listen } from './http-kit.js';

/** One JSON line on stdout: the supervisor's log, which startFleet and people read. */
function say(msg: string, fields: Record<string, unknown> = {}): void {
  process.stdout.write(`${JSON.stringify({ at: new Date().toISOString(), msg, ...fields })}\n`);
}

/** "500ms", "30s", "5m", "1h" or plain seconds, in milliseconds. */
export function parseDuration(text: string): number {
  const match = /^(\d+(?:\.\d+)?)(ms|s|m|h)?$/.exec(text.trim());
  if (!match) throw new Error(`not a duration: ${text}`);
  const unit = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 }[(match[2] ?? 's') as 'ms' | 's' | 'm' | 'h'];
  return Number(match[1]) * unit;
}

function options(): { config: FleetConfig; xidWindowMs: number; stopTimeoutMs: number } {
  const { values } = parseArgs({ options: { config: { type: 'string' }, 'xid-count-window': { type: 'string' }, 'stop-timeout': { type: 'string' } }, strict: true });
  if (!values.config) throw new Error('usage: supervisor.js --config fleet.json [--xid-count-window 5m] [--stop-timeout 5s]');
  return {
    config: loadFleetConfig(values.config),
    xidWindowMs: parseDuration(values['xid-count-window'] ?? '5m'),
    stopTimeoutMs: parseDuration(values['stop-timeout'] ?? '5s'),
  };
}

async function main(): Promise<void> {
  const { config, xidWindowMs, stopTimeoutMs } = options();
  const controlUrl = `http://127.0.0.1:${config.controlPort}`;
  const enginePath = fileURLToPath(new URL('./engine.js', import.meta.url));
  const fleet = new Fleet(config, { enginePath, controlUrl, stopTimeoutMs, xidWindowMs });
  const servers: http.Server[] = [];
  const control = createControlServer(fleet);
  await listen(control, '127.0.0.1', config.controlPort);
  servers.push(control);
  for (const host of config.hosts) {
    const dcgm = createDcgmServer(host.name, () => fleet.gpuViews(host.name), xidWindowMs);
    await listen(dcgm, host.ip, host.dcgmPort);
    servers.push(dcgm);
  }
  say('control API listening', { controlUrl, stateDir: config.stateDir });

  let stopping = false;
  const shutdown = async (signal: string): Promise<void> => {
    if (stopping) return;
    stopping = true;
    say('stopping', { signal });
    await fleet.stopAll();
    await Promise.all(servers.map((s) => closeServer(s)));
    say('stopped');
    process.exit(0);
  };
  process.on('SIGTERM', () => void shutdown('SIGTERM'));
  process.on('SIGINT', () => void shutdown('SIGINT'));

  await fleet.startAll();
  const started = Date.now();
  const readyCheck = setInterval(() => {
    if (!fleet.allReady()) return;
    clearInterval(readyCheck);
    say('fleet ready', { controlUrl, units: fleet.state().units.length, loadMs: Date.now() - started });
  }, 50);
}

main().catch((thrown: unknown) => {
  process.stderr.write(`supervisor: ${thrown instanceof Error ? thrown.message : String(thrown)}\n`);
  process.exit(1);
});
