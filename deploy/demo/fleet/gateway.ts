/**
 * The fleet's gateway, one process for every model:
 * `node build/demo/deploy/demo/fleet/gateway.js --config fleet.json`. Prints one JSON line per
 * event on stdout, and `gateway ready` once it listens; SIGTERM closes it.
 */
import { parseArgs } from 'node:util';
import { loadGatewayConfig } from './gateway-config.js';
import { createGateway } from './gateway-server.js';

function say(msg: string, fields: Record<string, unknown> = {}): void {
  process.stdout.write(`${JSON.stringify({ at: new Date().toISOString(), msg, ...fields })}\n`);
}

async function main(): Promise<void> {
  const { values } = parseArgs({ options: { config: { type: 'string' } }, strict: true });
  if (!values.config) throw new Error('usage: gateway.js --config fleet.json');
  const config = loadGatewayConfig(values.config);
  const gateway = await createGateway(config, { onEvent: (e) => say('event', { ...e }) });
  const shutdown = (signal: string): void => {
    say('stopping', { signal });
    void gateway.close().then(() => process.exit(0));
  };
  process.on('SIGTERM', () => shutdown('SIGTERM'));
  process.on('SIGINT', () => shutdown('SIGINT'));
  say('gateway ready', { url: gateway.url, models: [...config.models.keys()], replicas: gateway.state.replicas.length });
}

main().catch((thrown: unknown) => {
  process.stderr.write(`gateway: ${thrown instanceof Error ? thrown.message : String(thrown)}\n`);
  process.exit(1);
});
