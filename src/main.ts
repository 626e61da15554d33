/** serve: load config, build the service, listen, handle signals. Thin on purpose. */

import type { Server } from 'node:http';
import { loadConfig, type Config } from './config/config.js';
import { RemediatorError, toError } from './core/errors.js';
import { createLogger, type Logger } from './observability/logger.js';
import { isLoopback, openRoles } from './receive/auth.js';
import { hostPolicy, isWildcardListen } from './receive/host-guard.js';
import { createHttpServer } from './receive/http-server.js';
import { createRefusalLog } from './receive/refusal-log.js';
import { buildService } from './service.js';

export interface ServeOptions {
  readonly configFile: string | null;
  readonly env: NodeJS.ProcessEnv;
}

/** Refuses to serve an open role on a non-loopback address unless told to; warns about open roles otherwise. */
export function checkExposure(config: Config, logger: Logger): void {
  const open = openRoles(config.auth);
  if (open.length === 0) return;
  if (!isLoopback(config.listen.host) && !config.auth.allowUnauthenticated) {
    throw new RemediatorError(
      'CONFIG_INVALID',
      `refusing to serve without auth for ${open.join(', ')} on ${config.listen.host}; configure auth or set auth.allowUnauthenticated: true`,
    );
  }
  logger.warn({ openRoles: open, listen: config.listen }, 'serving without authentication for some roles');
}

function listen(server: Server, host: string, port: number): Promise<void> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
}

/** Runs the service until SIGTERM/SIGINT; resolves to the exit code. */
export async function serve(options: ServeOptions): Promise<number> {
  const logger = createLogger({ level: options.env.LOG_LEVEL ?? 'info' });
  let service;
  let config: Config;
  try {
    config = loadConfig(options.configFile);
    checkExposure(config, logger);
    service = await buildService(config, logger, { env: options.env });
  } catch (err) {
    logger.fatal({ err: toError(err) }, 'cannot start');
    process.stderr.write(`remediator: ${toError(err).message}\n`);
    return 1;
  }
  const server = createHttpServer(config.limits, service.app, createRefusalLog(logger, service.metrics));
  try {
    await listen(server, config.listen.host, config.listen.port);
  } catch (err) {
    logger.fatal({ err: toError(err), listen: config.listen }, 'cannot listen');
    await service.stop(0);
    return 1;
  }
  const hosts = hostPolicy(config).names;
  if (isWildcardListen(config.listen.host) && config.allowedHosts.length === 0) {
    // Not an error: IP addresses, publicURL's host and this machine's name still reach it, and a refused name is loud (421).
    logger.warn({ hosts }, 'listening on every address: only these Host names (and any IP address) are served; add the names clients use to allowedHosts');
  }
  logger.info({ listen: config.listen, hosts, runbooks: service.catalog.current().runbooks.length, owner: service.owner }, 'remediator serving');

  process.on('SIGHUP', () => {
    void service.catalog.reload().then((r) => {
      if (r.ok) logger.info({ runbooks: service.catalog.current().runbooks.length }, 'runbooks reloaded');
      else logger.error({ errors: r.errors }, 'runbook reload failed; previous runbooks stay in force');
    });
  });

  return new Promise<number>((resolve) => {
    let stopping = false;
    const shutdown = async (signal: string): Promise<void> => {
      if (stopping) return;
      stopping = true;
      logger.info({ signal, graceMs: config.limits.shutdownGraceMs }, 'draining');
      await service.drain(config.limits.shutdownGraceMs);
      server.close();
      server.closeAllConnections();
      await service.stop(0);
      logger.info({}, 'stopped');
      resolve(0);
    };
    process.once('SIGTERM', () => void shutdown('SIGTERM'));
    process.once('SIGINT', () => void shutdown('SIGINT'));
  });
}
