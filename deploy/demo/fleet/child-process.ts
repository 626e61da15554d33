/** What the fleet's clients share: JSON calls to a control API, and a child process started until it says it is ready. */
import { spawn } from 'node:child_process';

/** A JSON call; a status outside 2xx and `okStatuses` throws with the answer's text. */
export async function callJson<T>(url: string, init: RequestInit = {}, okStatuses: readonly number[] = [], timeoutMs = 30_000): Promise<T> {
  const res = await fetch(url, { ...init, signal: init.signal ?? AbortSignal.timeout(timeoutMs) });
  const text = await res.text();
  if (!res.ok && !okStatuses.includes(res.status)) throw new Error(`${init.method ?? 'GET'} ${url} answered ${res.status}: ${text}`);
  return JSON.parse(text) as T;
}

/** A POST with a JSON body (an empty body when none). */
export const post = (body?: unknown): RequestInit => ({ method: 'POST', headers: { 'content-type': 'application/json' }, body: body === undefined ? '' : JSON.stringify(body) });

/** How to start one of the fleet's processes. */
export interface ReadyChildOptions {
  readonly script: string;
  readonly args: readonly string[];
  /** The `msg` of the JSON line it prints once ready. */
  readonly readyMessage: string;
  /** Who it is, for errors ("the gateway"). */
  readonly what: string;
  readonly timeoutMs: number;
  /** Keep only the last this many characters of its output (it may run for an hour). */
  readonly outputLimit?: number;
}

/** A started process and its ready line. */
export interface ReadyChild {
  readonly pid: number;
  readonly ready: Readonly<Record<string, unknown>>;
  output(): string;
  /** SIGTERM, SIGKILL after `graceMs`; resolves once it has exited. */
  stop(graceMs: number): Promise<void>;
}

/** Spawns `node script args` and resolves on its ready line; rejects with its output if it exits or times out first. */
export async function startReadyChild(o: ReadyChildOptions): Promise<ReadyChild> {
  const env = { ...process.env };
  delete env.NODE_OPTIONS; // jest's --experimental-vm-modules is not for children
  const child = spawn(process.execPath, [o.script, ...o.args], { env, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  let ready: Record<string, unknown> | undefined;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  let timer: NodeJS.Timeout | undefined;
  await new Promise<void>((resolve, reject) => {
    timer = setTimeout(() => reject(new Error(`${o.what} was not ready within ${o.timeoutMs} ms:\n${output}`)), o.timeoutMs);
    const onData = (chunk: Buffer): void => {
      output += chunk.toString('utf8');
      if (o.outputLimit !== undefined && output.length > o.outputLimit) output = output.slice(-o.outputLimit);
      // Complete lines only: a chunk may end in the middle of the ready line.
      const line = ready ? undefined : output.split('\n').slice(0, -1).find((l) => l.includes(`"${o.readyMessage}"`));
      if (!line) return;
      ready = JSON.parse(line) as Record<string, unknown>;
      resolve();
    };
    child.stdout.on('data', onData);
    child.stderr.on('data', onData);
    child.once('error', (err) => reject(err));
    void exited.then(() => reject(new Error(`${o.what} exited before it was ready:\n${output}`)));
  }).catch(async (thrown: unknown) => {
    child.kill('SIGKILL');
    await exited;
    throw thrown;
  }).finally(() => clearTimeout(timer));
  return {
    pid: child.pid ?? 0,
    ready: ready ?? {},
    output: () => output,
    stop: async (graceMs) => {
      if (child.exitCode !== null || child.signalCode !== null) return;
      child.kill('SIGTERM');
      const kill = setTimeout(() => child.kill('SIGKILL'), graceMs);
      await exited;
      clearTimeout(kill);
    },
  };
}
