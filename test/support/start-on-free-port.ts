/** Starting a server child on a free port, again on a new port when another program took it first. */
import { toError } from '../../src/core/errors.js';
import type { ChildHandle } from './child.js';
import { freePort, isAddressInUse } from './free-port.js';

/** Picks a free port, starts the child on it and waits until `ready` resolves; retries on EADDRINUSE. */
export async function startOnFreePort(
  start: (port: number) => Promise<ChildHandle>,
  ready: (port: number, child: ChildHandle) => Promise<void>,
  attempts = 4,
): Promise<{ port: number; child: ChildHandle }> {
  for (let attempt = 1; ; attempt++) {
    const port = await freePort();
    const child = await start(port);
    try {
      await ready(port, child);
      return { port, child };
    } catch (thrown) {
      await child.stop();
      const err = toError(thrown);
      if (attempt < attempts && isAddressInUse(child.output())) continue;
      throw new Error(`${err.message}\n${child.describe()}`, { cause: err });
    }
  }
}
