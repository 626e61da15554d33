/** What every host stand-in shares: which host it is (FLEET_HOST), where the supervisor is (FLEET_CONTROL_URL), and root. */

/** The host and control URL; a stand-in run outside a fleet session says so and exits 1. */
export function hostContext(tool: string): { host: string; controlUrl: string } {
  const host = process.env.FLEET_HOST;
  const controlUrl = process.env.FLEET_CONTROL_URL;
  if (!host || !controlUrl) {
    process.stderr.write(`${tool}: this is the simulated fleet's ${tool}; FLEET_HOST and FLEET_CONTROL_URL must be set (the rehearsal's sshd sets them)\n`);
    process.exit(1);
  }
  return { host, controlUrl: controlUrl.replace(/\/$/, '') };
}

/**
 * True when running as root: under the sudo stand-in (FLEET_AS_ROOT=1). The rehearsal's ssh user
 * stands for remediator's unprivileged account, so mutating commands without sudo fail as they
 * would on a real host.
 */
export function isRoot(): boolean {
  return process.env.FLEET_AS_ROOT === '1';
}

/** A control API answer. */
export interface ControlAnswer<T> {
  readonly status: number;
  readonly body: T;
}

/** Calls the supervisor; `unreachable` is the tool's own words when it cannot be reached (a dead D-Bus, a dead driver). */
export async function control<T>(controlUrl: string, path: string, init: RequestInit, unreachable: () => never): Promise<ControlAnswer<T>> {
  let res: Response;
  try {
    res = await fetch(`${controlUrl}${path}`, { ...init, signal: AbortSignal.timeout(180_000) });
  } catch {
    return unreachable();
  }
  const text = await res.text();
  return { status: res.status, body: (text === '' ? undefined : JSON.parse(text)) as T };
}

/** Writes to stdout and resolves once it is flushed (so process.exit after it loses nothing). */
export function out(text: string): Promise<void> {
  return new Promise((resolve) => (text === '' ? resolve() : process.stdout.write(text, () => resolve())));
}

/** Writes to stderr and resolves once it is flushed. */
export function err(text: string): Promise<void> {
  return new Promise((resolve) => (text === '' ? resolve() : process.stderr.write(text, () => resolve())));
}

/** Runs a stand-in's main and exits with its code, after its output is flushed. */
export function runMain(main: () => Promise<number>): void {
  main().then(
    (code) => process.exit(code),
    (thrown: unknown) => {
      process.stderr.write(`${thrown instanceof Error ? (thrown.stack ?? thrown.message) : String(thrown)}\n`);
      process.exit(1);
    },
  );
}
