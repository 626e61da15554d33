/** Real node:http servers for http step tests, recording what reached them. */
import http from 'node:http';
import type { AddressInfo } from 'node:net';

/** A request as the server saw it. */
export interface SeenRequest {
  readonly method: string;
  readonly url: string;
  readonly headers: http.IncomingHttpHeaders;
  readonly body: string;
}

/** A listening server: its base URL (no trailing slash), what it saw, and how to stop it. */
export interface TestServer {
  readonly base: string;
  readonly port: number;
  readonly seen: SeenRequest[];
  close(): Promise<void>;
}

/** Answers a request; the body has been read into `seen` already. */
export type Handler = (req: http.IncomingMessage, res: http.ServerResponse, seen: SeenRequest) => void;

/** Starts a server on `host` (an IP literal) and a free port. */
export function startServer(host: string, handler: Handler): Promise<TestServer> {
  const seen: SeenRequest[] = [];
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const record = { method: req.method ?? '', url: req.url ?? '', headers: req.headers, body: Buffer.concat(chunks).toString('utf8') };
      seen.push(record);
      handler(req, res, record);
    });
  });
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, host, () => {
      const { port } = server.address() as AddressInfo;
      const shown = host.includes(':') ? `[${host}]` : host;
      resolve({
        base: `http://${shown}:${port}`,
        port,
        seen,
        close: () =>
          new Promise<void>((done) => {
            server.closeAllConnections();
            server.close(() => done());
          }),
      });
    });
  });
}

/** True when this machine can listen on `host` (IPv6 loopback may be missing). */
export async function canListen(host: string): Promise<boolean> {
  try {
    const server = await startServer(host, (_req, res) => res.end());
    await server.close();
    return true;
  } catch {
    return false;
  }
}
