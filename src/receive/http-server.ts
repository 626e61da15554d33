/** The Node HTTP server the app is served by, with the limits that keep idle or slow clients from exhausting it. */

import { createServer, type RequestListener, type Server } from 'node:http';
import type { Config } from '../config/config.js';
import type { RefusalLog } from './refusal-log.js';

/** Creates (does not start) the server: connection cap, short header and request deadlines, checked every second. */
export function createHttpServer(limits: Config['limits'], handler: RequestListener, refusals: RefusalLog): Server {
  const server = createServer(
    {
      headersTimeout: limits.headersTimeoutMs,
      requestTimeout: limits.requestTimeoutMs,
      // Node checks both deadlines only this often (30 s by default), which is how a half-sent request lived ~37 s.
      connectionsCheckingInterval: Math.min(1_000, limits.headersTimeoutMs),
      // Longer than a load balancer's usual idle timeout would be wasted; shorter than Go's default client idle (90 s) is fine.
      keepAliveTimeout: 5_000,
    },
    handler,
  );
  server.maxConnections = limits.maxConnections;
  server.on('drop', () => refusals.dropped());
  return server;
}
