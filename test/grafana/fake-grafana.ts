/**
 * A fake Grafana serving the legacy annotations HTTP API as Grafana documents it (contracts.md §3,
 * docs/sources/developer-resources/api-reference/http-api/api-legacy/annotations.md, pkg/api/annotations.go):
 * Bearer token auth, text required, a time range required, region normalisation, PATCH applying
 * only set fields, and the organization fallback for an unknown dashboardUID. It can be told to go
 * down (refuse connections, answer 500, or hang) to test what a client does then.
 */
import http from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { handleAnnotations, type AnnotationItem, type Answer, type GrafanaState } from './annotation-routes.js';

/** How the fake behaves: normally, or down in one of three ways. */
export type GrafanaMode = 'up' | 'refuse' | 'error500' | 'hang';

/** A request the fake received (while listening). */
export interface ReceivedRequest {
  readonly method: string;
  readonly path: string;
  readonly body: unknown;
  readonly status: number | null;
}

/** A running fake Grafana. */
export interface FakeGrafana {
  readonly url: string;
  readonly token: string;
  /** Stored annotations, by id. */
  readonly annotations: ReadonlyMap<number, AnnotationItem>;
  readonly requests: readonly ReceivedRequest[];
  /** Switches behaviour; `refuse` stops listening (connections are refused), `up` listens again on the same port. */
  setMode(mode: GrafanaMode): Promise<void>;
  close(): Promise<void>;
}

/** Options of startFakeGrafana. */
export interface FakeGrafanaOptions {
  /** The service-account token it accepts; default `fake-service-account-token`. */
  readonly token?: string;
  /** Dashboard UIDs that exist; others fall back to organization annotations, as Grafana 9.x–10.x does. */
  readonly dashboards?: readonly string[];
}

/** Starts the fake on a free port of 127.0.0.1. */
export async function startFakeGrafana(options: FakeGrafanaOptions = {}): Promise<FakeGrafana> {
  const token = options.token ?? 'fake-service-account-token';
  const state: GrafanaState = { annotations: new Map(), nextId: 1, dashboards: [...(options.dashboards ?? [])] };
  const requests: ReceivedRequest[] = [];
  const sockets = new Set<Socket>();
  const hanging = new Set<http.ServerResponse>();
  let mode: GrafanaMode = 'up';

  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const text = Buffer.concat(chunks).toString('utf8');
      const entry = { method: req.method ?? '', path: req.url ?? '', body: parseOrText(text), status: null as number | null };
      requests.push(entry);
      if (mode === 'hang') {
        hanging.add(res);
        return;
      }
      const answer: Answer =
        mode === 'error500'
          ? { status: 500, body: { message: 'Internal Server Error' } }
          : req.headers.authorization !== `Bearer ${token}`
            ? { status: 401, body: { message: 'Unauthorized' } }
            : handleAnnotations(state, entry.method, new URL(entry.path, 'http://fake'), text);
      entry.status = answer.status;
      res.writeHead(answer.status, { 'content-type': 'application/json' });
      res.end(JSON.stringify(answer.body));
    });
  });
  server.on('connection', (socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  await listen(server, 0);
  const { port } = server.address() as AddressInfo;

  const dropConnections = (): void => {
    for (const res of hanging) res.destroy();
    hanging.clear();
    for (const socket of sockets) socket.destroy();
  };

  return {
    url: `http://127.0.0.1:${port}`,
    token,
    annotations: state.annotations,
    requests,
    async setMode(next) {
      if (next === 'refuse' && server.listening) {
        const closed = new Promise<void>((resolve) => server.close(() => resolve()));
        dropConnections();
        await closed;
      } else if (next !== 'refuse' && !server.listening) {
        await listen(server, port);
      }
      if (next !== 'hang') dropConnections();
      mode = next;
    },
    async close() {
      dropConnections();
      if (server.listening) await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

function listen(server: http.Server, port: number): Promise<void> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => {
      server.off('error', reject);
      resolve();
    });
  });
}

function parseOrText(text: string): unknown {
  if (text === '') return null;
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return text;
  }
}
