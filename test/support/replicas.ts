/**
 * Several remediator replicas on one store URL and one runbooks folder: real child processes built from dist/, each with
 * its own config file and `REPLICA_NAME=r1..` in its environment (passed on to steps through `execute.env`), so that a
 * step can write to a ledger which replica ran it. The ledger is a file that test/fixtures/scripts/ledger-append.sh
 * appends `<event> <replica> <id> <epoch ns>` lines to.
 */
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { fixtureScript } from '../execute/processes.js';
import { startService, writeTokenFile, type ServiceHandle } from './service.js';
import { makeTempDir, removeTempDir } from './temp-dir.js';

/** The bearer token of every role on every replica. */
export const REPLICA_TOKEN = 'replicas-token-0123456789';

/** Options for startReplicas. */
export interface ReplicaOptions {
  readonly count: number;
  /** The one store every replica uses (postgres://...). */
  readonly storeUrl: string;
  /** Runbook file name -> YAML, written once into the folder all replicas read; given the ledger's path. */
  readonly runbooks: (ledger: string) => Readonly<Record<string, string>>;
  /** Config keys set on every replica over the defaults here (runbooks, store, auth, execute), e.g. limits or alertmanager. */
  readonly config?: Readonly<Record<string, unknown>>;
}

/** An HTTP answer, its body parsed when it is JSON. */
export interface ApiAnswer {
  readonly status: number;
  readonly json: unknown;
  readonly text: string;
}

/** One replica: its name (the REPLICA_NAME its steps see) and its service. */
export interface Replica {
  readonly name: string;
  readonly service: ServiceHandle;
  /** A request with the token of every role; network errors and timeouts (default 10 s) throw. */
  api(method: string, urlPath: string, body?: unknown, timeoutMs?: number): Promise<ApiAnswer>;
  /** Every item of a list endpoint (`/api/v1/runs`, `/api/v1/decisions`), followed page by page through nextCursor. */
  listAll<T>(urlPath: string, key: string): Promise<T[]>;
  /** The value of `remediator_leader{role="periodic"}` on /metrics, or null when the gauge is missing. */
  leaderGauge(): Promise<number | null>;
}

/** The running replicas and what they share. */
export interface ReplicaSet {
  readonly dir: string;
  readonly runbooksDir: string;
  /** The ledger file's path, for steps' argv. */
  readonly ledger: string;
  readonly replicas: readonly Replica[];
  byName(name: string): Replica;
  /** Stops every replica still running (SIGTERM, then SIGKILL) and removes the folder (kept when KEEP_TEST_DIRS is set). */
  stop(): Promise<void>;
}

/** Starts `count` replicas at once (so they also race on the migrations) and waits until every one is ready. */
export async function startReplicas(options: ReplicaOptions): Promise<ReplicaSet> {
  const dir = makeTempDir('replicas');
  const runbooksDir = path.join(dir, 'runbooks');
  fs.mkdirSync(runbooksDir);
  const ledger = path.join(dir, 'ledger.txt');
  fs.writeFileSync(ledger, '');
  for (const [name, text] of Object.entries(options.runbooks(ledger))) fs.writeFileSync(path.join(runbooksDir, name), text);
  const auth = { bearerTokenFile: writeTokenFile(dir, REPLICA_TOKEN) };
  const names = Array.from({ length: options.count }, (_, i) => `r${i + 1}`);
  const started = await Promise.allSettled(
    names.map(async (name) => {
      const own = path.join(dir, name);
      fs.mkdirSync(own);
      const service = await startService({
        dir: own,
        env: { REPLICA_NAME: name },
        config: {
          runbooks: runbooksDir,
          store: { url: options.storeUrl },
          auth: { webhook: auth, read: auth, operate: auth },
          execute: { env: ['REPLICA_NAME'] },
          ...options.config,
        },
      });
      return replicaOf(name, service);
    }),
  );
  const replicas = started.flatMap((s) => (s.status === 'fulfilled' ? [s.value] : []));
  const stop = async (): Promise<void> => {
    await Promise.all(replicas.map((r) => r.service.stop(5_000)));
  };
  try {
    const failed = started.find((s): s is PromiseRejectedResult => s.status === 'rejected');
    if (failed) throw failed.reason;
    await Promise.all(replicas.map((r) => r.service.waitReady(60_000)));
  } catch (thrown) {
    await stop();
    throw thrown;
  }
  return {
    dir,
    runbooksDir,
    ledger,
    replicas,
    async stop() {
      await stop();
      removeTempDir(dir);
    },
    byName(name) {
      const found = replicas.find((r) => r.name === name);
      if (found === undefined) throw new Error(`no replica ${name}; there are ${replicas.map((r) => r.name).join(', ')}`);
      return found;
    },
  };
}

function replicaOf(name: string, service: ServiceHandle): Replica {
  const api = async (method: string, urlPath: string, body?: unknown, timeoutMs = 10_000): Promise<ApiAnswer> => {
    const res = await fetch(`${service.url}${urlPath}`, {
      method,
      headers: { authorization: `Bearer ${REPLICA_TOKEN}`, 'content-type': 'application/json' },
      body: body === undefined ? undefined : JSON.stringify(body),
      signal: AbortSignal.timeout(timeoutMs),
    });
    const text = await res.text();
    let json: unknown = null;
    try {
      json = JSON.parse(text);
    } catch {
      json = null;
    }
    return { status: res.status, json, text };
  };
  return {
    name,
    service,
    api,
    async listAll<T>(urlPath: string, key: string): Promise<T[]> {
      const items: T[] = [];
      for (let cursor: string | null = null; ; ) {
        const sep = urlPath.includes('?') ? '&' : '?';
        const page = await api('GET', `${urlPath}${sep}limit=500${cursor === null ? '' : `&cursor=${encodeURIComponent(cursor)}`}`);
        if (page.status !== 200) throw new Error(`GET ${urlPath} on ${name} answered ${page.status}: ${page.text}`);
        const answer = page.json as Record<string, unknown>;
        items.push(...(answer[key] as T[]));
        cursor = (answer.nextCursor as string | null) ?? null;
        if (cursor === null) return items;
      }
    },
    async leaderGauge() {
      const answer = await api('GET', '/metrics', undefined, 5_000);
      const match = /^remediator_leader\{role="periodic"\} (\S+)$/m.exec(answer.text);
      return match?.[1] === undefined ? null : Number(match[1]);
    },
  };
}

/** One line of the ledger. */
export interface LedgerLine {
  readonly event: string;
  readonly replica: string;
  readonly id: string;
  readonly ns: bigint;
}

/** The ledger's lines, in the order they were appended. */
export function readLedger(file: string): LedgerLine[] {
  return fs
    .readFileSync(file, 'utf8')
    .split('\n')
    .filter((line) => line !== '')
    .map((line) => {
      const [event, replica, id, ns, ...rest] = line.split(' ');
      if (event === undefined || replica === undefined || id === undefined || ns === undefined || rest.length > 0 || !/^\d+$/.test(ns)) {
        throw new Error(`malformed ledger line ${JSON.stringify(line)} in ${file}`);
      }
      return { event, replica, id, ns: BigInt(ns) };
    });
}

/** How many lines of `event` the ledger holds for each id. */
export function ledgerCounts(lines: readonly LedgerLine[], event: string): Map<string, number> {
  const counts = new Map<string, number>();
  for (const line of lines) if (line.event === event) counts.set(line.id, (counts.get(line.id) ?? 0) + 1);
  return counts;
}

/** The ids that appear more than once for `event`, with their lines: what ran twice. */
export function ranTwice(lines: readonly LedgerLine[], event: string): LedgerLine[] {
  const counts = ledgerCounts(lines, event);
  return lines.filter((line) => line.event === event && (counts.get(line.id) ?? 0) > 1);
}

/**
 * A runbook step's `run:` argv (YAML flow list) that appends `<event> <replica> <id>` to the ledger; `id` is a template
 * such as `{{ params.host }}` or `{{ run.id }}`. With `holdSeconds`, the first such line of an id then holds on
 * `sleep holdSeconds` in the step's process group (a re-run of it returns at once).
 */
export function ledgerStep(ledger: string, event: string, id: string, holdSeconds?: number): string {
  const argv = [fixtureScript('ledger-append.sh'), ledger, event, id, ...(holdSeconds === undefined ? [] : [String(holdSeconds)])];
  return `[${argv.map((a) => JSON.stringify(a)).join(', ')}]`;
}

/** A stable 16-hex-digit fingerprint for a label set, as Alertmanager gives each alert one. */
export function fingerprintOf(labels: Readonly<Record<string, string>>): string {
  const text = Object.keys(labels)
    .sort()
    .map((k) => `${k}=${labels[k] ?? ''}`)
    .join('\xff');
  return createHash('sha256').update(text).digest('hex').slice(0, 16);
}
