/** A loopback HTTP server that answers in ways Prometheus does not: hangs, HTML, bare 502s, odd JSON. */
import http from 'node:http';
import { listenOnLoopback } from '../support/loopback-server.js';

/** A running stand-in. */
export interface StandIn {
  url: string;
  /** Requests received, in order: path and form body. */
  requests: { path: string; body: string }[];
  close(): Promise<void>;
}

/** Starts a server on a free port of 127.0.0.1; `respond` gets the request body and the response (leave it unanswered to hang). */
export async function startStandIn(respond: (body: string, res: http.ServerResponse) => void): Promise<StandIn> {
  const requests: { path: string; body: string }[] = [];
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks).toString('utf8');
      requests.push({ path: req.url ?? '', body });
      respond(body, res);
    });
  });
  const { port, close } = await listenOnLoopback(server);
  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    close,
  };
}
