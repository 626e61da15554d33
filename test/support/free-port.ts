/** Free TCP ports on loopback, so tests never collide with each other or with other programs. */
import net from 'node:net';

/** Asks the kernel for a free port on 127.0.0.1 by listening on port 0 and closing again. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.unref();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address !== null ? address.port : 0;
      server.close((err) => (err ? reject(err) : port > 0 ? resolve(port) : reject(new Error('no port assigned'))));
    });
  });
}

/** True when a child's output shows that another program took its port between freePort() and bind. */
export function isAddressInUse(output: string): boolean {
  return /EADDRINUSE|address already in use/i.test(output);
}
