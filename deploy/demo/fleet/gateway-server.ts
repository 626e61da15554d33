/** The gateway in-process: client API, admin API and /metrics on one listener, with its health and canary loops. */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { adminRoutes } from './gateway-admin.js';
import type { GatewayConfig } from './gateway-config.js';
import type { EventSink } from './gateway-events.js';
import { createGatewayMetrics } from './gateway-metrics.js';
import { ReplicaMonitor } from './gateway-monitor.js';
import { completionHandler } from './gateway-proxy.js';
import { GatewayState } from './gateway-state.js';
import { closeServer, createRouter, listen, sendJson, sendText } from './http-kit.js';

/** Options of createGateway. */
export interface CreateGatewayOptions {
  /** Listen here instead of the config's port (0: a free one, for tests). */
  readonly port?: number;
  /** Every event also goes here as it is recorded. */
  readonly onEvent?: EventSink;
}

/** A listening gateway. */
export interface Gateway {
  readonly server: http.Server;
  /** http://HOST:PORT. */
  readonly url: string;
  readonly state: GatewayState;
  /** Stops the loops and closes the listener and its connections. */
  close(): Promise<void>;
}

/** Starts a gateway over `config` and resolves once it listens. */
export async function createGateway(config: GatewayConfig, options: CreateGatewayOptions = {}): Promise<Gateway> {
  const state = new GatewayState(config, options.onEvent);
  const metrics = createGatewayMetrics(state);
  const deps = { state, count: metrics.count };
  const monitor = new ReplicaMonitor(state);
  const router = createRouter([
    { method: 'POST', pattern: /^\/v1\/completions$/, handler: completionHandler(deps, 'completion') },
    { method: 'POST', pattern: /^\/v1\/chat\/completions$/, handler: completionHandler(deps, 'chat') },
    { method: 'GET', pattern: /^\/v1\/models$/, handler: (_req, res) => sendJson(res, 200, { object: 'list', data: [...state.models.keys()].map((id) => ({ id, object: 'model', owned_by: 'vllm', root: id })) }) },
    ...adminRoutes(state, (r) => monitor.check(r)),
    { method: 'GET', pattern: /^\/metrics$/, handler: async (_req, res) => sendText(res, 200, await metrics.registry.metrics(), metrics.registry.contentType) },
    { method: 'GET', pattern: /^\/health$/, handler: (_req, res) => sendText(res, 200, '') },
  ]);
  const server = http.createServer(router);
  // Longer than any client's idle timeout: the client closes an idle connection first, so no request meets one the gateway just closed.
  server.keepAliveTimeout = 65_000;
  await listen(server, config.settings.host, options.port ?? config.settings.port);
  monitor.start();
  const { port } = server.address() as AddressInfo;
  let closing: Promise<void> | undefined;
  return {
    server,
    url: `http://${config.settings.host}:${port}`,
    state,
    close: () => {
      closing ??= (async () => {
        monitor.stop();
        state.close();
        await closeServer(server);
      })();
      return closing;
    },
  };
}
