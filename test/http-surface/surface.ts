/** The whole service in this process behind the same Node server main.ts makes, with its log lines kept, and raw HTTP helpers. */

import { mkdirSync, writeFileSync } from 'node:fs';
import { request as httpRequest, type Server } from 'node:http';
import { connect, type Socket } from 'node:net';
import path from 'node:path';
import { Writable } from 'node:stream';
import { parseConfigText, resolveConfig, type Config } from '../../src/config/config.js';
import { createLogger } from '../../src/observability/logger.js';
import { createHttpServer } from '../../src/receive/http-server.js';
import { createRefusalLog } from '../../src/receive/refusal-log.js';
import { buildService, type Service } from '../../src/service.js';
import { freePort } from '../support/free-port.js';
import { makeTempDir, removeTempDir } from '../support/temp-dir.js';

/** A running service and what it logged. */
export interface Surface {
  readonly dir: string;
  readonly port: number;
  readonly url: string;
  readonly config: Config;
  readonly service: Service;
  /** Log lines written so far, parsed. */
  logs(): Record<string, unknown>[];
  close(): Promise<void>;
}

/**
 * Starts the service on a free loopback port; `config` is YAML appended after listen, runbooks and store;
 * files are written next to it; runbooks may be made from the folder's path.
 */
export async function startSurface(
  runbooks: Record<string, string> | ((dir: string) => Record<string, string>),
  config: string,
  files: Record<string, string> = {},
): Promise<Surface> {
  const dir = makeTempDir('surface');
  mkdirSync(path.join(dir, 'runbooks'));
  for (const [name, text] of Object.entries(typeof runbooks === 'function' ? runbooks(dir) : runbooks)) writeFileSync(path.join(dir, 'runbooks', name), text);
  for (const [name, text] of Object.entries(files)) writeFileSync(path.join(dir, name), text);
  const port = await freePort();
  const text = [`listen: 127.0.0.1:${port}`, 'runbooks: ./runbooks', 'store: { url: "sqlite:./data/remediator.db" }', config].join('\n');
  const file = path.join(dir, 'remediator.yaml');
  writeFileSync(file, text);
  const resolved = resolveConfig(parseConfigText(text, file), file, dir);
  const lines: Record<string, unknown>[] = [];
  const destination = new Writable({
    write(chunk: Buffer, _enc, done) {
      for (const line of chunk.toString('utf8').split('\n')) if (line.startsWith('{')) lines.push(JSON.parse(line) as Record<string, unknown>);
      done();
    },
  });
  const logger = createLogger({ level: 'info', destination });
  const service = await buildService(resolved, logger, { defaultMetrics: false });
  const server: Server = createHttpServer(resolved.limits, service.app, createRefusalLog(logger, service.metrics));
  await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
  return {
    dir,
    port,
    url: `http://127.0.0.1:${port}`,
    config: resolved,
    service,
    logs: () => [...lines],
    async close() {
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
      await service.stop(2_000);
      removeTempDir(dir);
    },
  };
}

/** One answer read in full. */
export interface RawAnswer {
  readonly status: number;
  readonly headers: Record<string, string | string[] | undefined>;
  readonly text: string;
}

/** A request with exactly these headers (Host included, which fetch cannot set), through node:http. */
export function rawRequest(port: number, method: string, urlPath: string, headers: Record<string, string>, body?: string | Buffer): Promise<RawAnswer> {
  return new Promise((resolve, reject) => {
    const req = httpRequest({ host: '127.0.0.1', port, method, path: urlPath, headers, timeout: 5_000, agent: false }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, text: Buffer.concat(chunks).toString('utf8') }));
      res.on('error', reject);
    });
    req.on('timeout', () => req.destroy(new Error(`${method} ${urlPath} got no answer within 5 s`)));
    req.on('error', reject);
    req.end(body);
  });
}

/** What a raw socket saw: the bytes the server sent, and whether and when (ms after connect) it closed. */
export interface SocketSeen {
  readonly received: string;
  readonly closedAfterMs: number | null;
}

/** Opens a socket, writes `text`, and collects what comes back until the server closes it or `waitMs` pass. */
export function rawSocket(port: number, text: string, waitMs: number): Promise<SocketSeen> {
  return new Promise((resolve) => {
    const started = Date.now();
    const socket: Socket = connect(port, '127.0.0.1', () => socket.write(text));
    let received = '';
    let settled = false;
    const finish = (closed: boolean): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      socket.destroy();
      resolve({ received, closedAfterMs: closed ? Date.now() - started : null });
    };
    const timer = setTimeout(() => finish(false), waitMs);
    socket.on('data', (c: Buffer) => {
      received += c.toString('latin1');
    });
    socket.on('end', () => finish(true));
    socket.on('close', () => finish(true));
    socket.on('error', () => finish(true));
  });
}

/** Basic credentials as a browser caches and sends them. */
export const basic = (user: string, password: string): string => `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`;
