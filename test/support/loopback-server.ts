/** Listening on a free loopback port and closing again, for the small HTTP servers tests stand up. */
import type http from 'node:http';
import type { AddressInfo } from 'node:net';

/** A listening server: its port and a close that also drops kept-alive connections. */
export interface Listening {
  readonly port: number;
  close(): Promise<void>;
}

/** Listens on 127.0.0.1 at a port the kernel picks. */
export async function listenOnLoopback(server: http.Server): Promise<Listening> {
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  return {
    port,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
