/** A tiny stand-in for a vLLM engine that a test steers: /health, /version and completions that answer, fail, hang or stall. */
import { afterEach } from '@jest/globals';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { createGateway, type Gateway } from '../../deploy/demo/fleet/gateway-server.js';
import type { GatewayConfig, GatewaySettings, ReplicaTarget } from '../../deploy/demo/fleet/gateway-config.js';

/** How a completion is answered: ok (tokens), fail (500), hang (never), empty (200, no tokens), bad (400). */
export type CompletionMode = 'ok' | 'fail' | 'hang' | 'empty' | 'bad';

/** What the engine does now; tests change it at will. */
export interface Behaviour {
  health: number;
  completion: CompletionMode;
  delayMs: number;
  version: string;
}

/** A running fake engine. */
export interface FakeEngine {
  readonly port: number;
  /** 127.0.0.1:PORT, as the gateway names the replica. */
  readonly address: string;
  readonly behaviour: Behaviour;
  set(change: Partial<Behaviour>): void;
  /** Client completions received (canaries left out). */
  readonly clientRequests: number;
  readonly canaries: number;
  /** Client completions whose connection closed before they were answered (the gateway aborted them). */
  readonly aborted: number;
  close(): Promise<void>;
}

const CANARY_PROMPT = 'gateway canary';

/** Starts a fake engine on 127.0.0.1 (on `port` when given: a restart on the same address). */
export async function startFakeEngine(initial: Partial<Behaviour> = {}, port = 0): Promise<FakeEngine> {
  const behaviour: Behaviour = { health: 200, completion: 'ok', delayMs: 0, version: '0.11.0', ...initial };
  const counts = { client: 0, canary: 0, aborted: 0 };
  const server = http.createServer((req, res) => {
    const path = new URL(req.url ?? '/', 'http://x').pathname;
    if (path === '/health') return void res.writeHead(behaviour.health).end();
    if (path === '/version') return void res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ version: behaviour.version }));
    let raw = '';
    req.on('data', (c: Buffer) => (raw += c.toString('utf8')));
    req.on('end', () => {
      const body = JSON.parse(raw || '{}') as { prompt?: string; stream?: boolean; model?: string };
      if (body.prompt === CANARY_PROMPT) counts.canary++;
      else counts.client++;
      const mode = behaviour.completion;
      res.on('close', () => {
        if (!res.writableFinished && body.prompt !== CANARY_PROMPT) counts.aborted++;
      });
      if (body.stream && mode !== 'fail' && mode !== 'bad') {
        // Headers at once, as vLLM streams: a hung engine answers 200 and then nothing.
        res.writeHead(200, { 'content-type': 'text/event-stream' });
        res.flushHeaders();
        if (mode === 'hang') return;
        setTimeout(() => {
          if (res.destroyed) return;
          res.write(`data: ${JSON.stringify({ choices: [{ index: 0, text: ' hello' }] })}\n\n`);
          res.end('data: [DONE]\n\n');
        }, behaviour.delayMs);
        return;
      }
      if (mode === 'hang') return;
      setTimeout(() => {
        if (res.destroyed) return;
        const status = mode === 'fail' ? 500 : mode === 'bad' ? 400 : 200;
        const tokens = mode === 'ok' ? 2 : 0;
        const answer = status === 200 ? { object: 'text_completion', model: body.model, choices: [{ index: 0, text: tokens ? ' hi there' : '', finish_reason: 'length' }], usage: { prompt_tokens: 3, completion_tokens: tokens, total_tokens: 3 + tokens } } : { error: { message: `fake ${mode}`, code: status } };
        res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(answer));
      }, behaviour.delayMs);
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => resolve());
  });
  const bound = (server.address() as AddressInfo).port;
  return {
    port: bound,
    address: `127.0.0.1:${bound}`,
    behaviour,
    set: (change) => Object.assign(behaviour, change),
    get clientRequests() {
      return counts.client;
    },
    get canaries() {
      return counts.canary;
    },
    get aborted() {
      return counts.aborted;
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** Settings that make every timer of the gateway short, so a test takes a second or two. */
export const FAST: GatewaySettings = {
  host: '127.0.0.1',
  port: 0,
  checkEveryMs: 50,
  canaryEveryMs: 100,
  ttftTimeoutMs: 300,
  retries: 2,
  breaker: { failures: 3, openForMs: 600 },
};

/** A gateway config with one model whose replicas are `engines`, replica i on host gpu-(i+1), GPU i, each running `maxNumSeqs` at once. */
export function configFor(engines: readonly FakeEngine[], settings: Partial<GatewaySettings> = {}, maxNumSeqs = 8): GatewayConfig {
  const model = 'llama-3-8b';
  const replicas: ReplicaTarget[] = engines.map((e, i) => ({ model, ip: '127.0.0.1', port: e.port, hostName: `gpu-${i + 1}`, gpu: i, maxNumSeqs }));
  return { settings: { ...FAST, ...settings }, models: new Map([[model, replicas]]) };
}

/** Starts a gateway on a free port over `engines`. */
export function gatewayFor(engines: readonly FakeEngine[], settings: Partial<GatewaySettings> = {}, maxNumSeqs = 8): Promise<Gateway> {
  return createGateway(configFor(engines, settings, maxNumSeqs));
}

/** The answer to a completion through the gateway: status, parsed body and the headers the tests look at. */
export interface Completion {
  readonly status: number;
  readonly body: Record<string, unknown>;
  readonly replica: string | null;
  readonly fallback: string | null;
  readonly ms: number;
}

/** Sends one completion to the gateway. */
export async function complete(gatewayUrl: string, headers: Record<string, string> = {}, body: Record<string, unknown> = {}): Promise<Completion> {
  const started = Date.now();
  const res = await fetch(`${gatewayUrl}/v1/completions`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: JSON.stringify({ model: 'llama-3-8b', prompt: 'hello', max_tokens: 2, ...body }),
    signal: AbortSignal.timeout(10_000),
  });
  const text = await res.text();
  return { status: res.status, body: JSON.parse(text) as Record<string, unknown>, replica: res.headers.get('x-gateway-replica'), fallback: res.headers.get('x-gateway-fallback'), ms: Date.now() - started };
}

/** Resolves once `probe` is true, polling every 20 ms; fails the test after `timeoutMs`. */
export async function until(what: string, probe: () => boolean | Promise<boolean>, timeoutMs = 5_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await probe())) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** Waits until the gateway routes to every replica (all healthy, canaries answered). */
export function allRoutable(gateway: Gateway): Promise<void> {
  return until('every replica routable with a canary answered', () => gateway.state.replicas.every((r) => r.routable && r.canary));
}

/** What a gateway test made: its fake engines and gateway, replaced at will and closed after each test. */
export interface FakeFleet {
  engines: FakeEngine[];
  gateway: Gateway | undefined;
  /** `n` fresh fake engines behind a fresh gateway, every replica routable. */
  fleet(n: number): Promise<Gateway>;
}

/** A FakeFleet whose engines and gateway are closed after each test of the file. */
export function useFakeFleet(): FakeFleet {
  const f: FakeFleet = {
    engines: [],
    gateway: undefined,
    fleet: async (n) => {
      f.engines = await Promise.all(Array.from({ length: n }, () => startFakeEngine()));
      f.gateway = await gatewayFor(f.engines);
      await allRoutable(f.gateway);
      return f.gateway;
    },
  };
  afterEach(async () => {
    await f.gateway?.close();
    await Promise.all(f.engines.map((e) => e.close()));
    f.gateway = undefined;
    f.engines = [];
  });
  return f;
}
