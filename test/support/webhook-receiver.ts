/** A recording HTTP receiver that stands in for "whoever Alertmanager posts to" in harness tests. */
import http from 'node:http';
import { listenOnLoopback } from './loopback-server.js';

/** One request the receiver got. */
export interface ReceivedRequest {
  method: string;
  path: string;
  headers: http.IncomingHttpHeaders;
  body: string;
  receivedAt: number;
}

/** A running receiver. */
export interface WebhookReceiver {
  url: string;
  requests: ReceivedRequest[];
  close(): Promise<void>;
}

/** Starts a receiver on a free loopback port that records every request and answers `status` (default 200). */
export async function startWebhookReceiver(status: () => number = () => 200): Promise<WebhookReceiver> {
  const requests: ReceivedRequest[] = [];
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      requests.push({
        method: req.method ?? '',
        path: req.url ?? '',
        headers: req.headers,
        body: Buffer.concat(chunks).toString('utf8'),
        receivedAt: Date.now(),
      });
      res.writeHead(status(), { 'content-type': 'application/json' }).end('{}');
    });
  });
  const { port, close } = await listenOnLoopback(server);
  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    close,
  };
}
