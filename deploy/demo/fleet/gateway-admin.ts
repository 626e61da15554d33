/** The gateway's admin API: replicas, drain by replica or GPU, idle and ready probes, batch admission, events. */
import { parseDuration } from '../../../src/core/duration.js';
import type { GatewayState, ModelState, Replica } from './gateway-state.js';
import { HttpError, readJson, sendJson, type Route } from './http-kit.js';

const DEFAULT_ADMISSION_TTL = '30m';

function replicaOf(state: GatewayState, host: string, port: string): Replica {
  const r = state.replica(host, Number(port));
  if (!r) throw new HttpError(404, `the gateway has no replica ${host}:${port}`);
  return r;
}

function gpuReplicas(state: GatewayState, host: string, gpu: string): Replica[] {
  const list = state.onGpu(host, Number(gpu));
  if (list.length === 0) throw new HttpError(404, `the gateway has no replica on GPU ${gpu} of ${host}`);
  return list;
}

function modelOf(state: GatewayState, name: string): ModelState {
  const m = state.models.get(name);
  if (!m) throw new HttpError(404, `the gateway serves no model ${name}`);
  return m;
}

// "Ready" is what a warm-up waits for: /health says 200 and a canary completion answered since it came back.
const isReady = (r: Replica): boolean => r.up && r.canary;

function probeBody(r: Replica): Record<string, unknown> {
  return { replica: r.address, inflight: r.inflight, up: r.up, canary: r.canary, ready: isReady(r), drained: r.drained };
}

function admissionBody(m: ModelState): Record<string, unknown> {
  return { model: m.name, batchInflight: m.admission?.limit ?? null, expiresAt: m.admission ? new Date(m.admission.expiresAt).toISOString() : null, batchRequestsInflight: m.batchInflight };
}

/** The admin routes over `state`; `checkNow` looks at a replica's /health at once. */
export function adminRoutes(state: GatewayState, checkNow: (r: Replica) => Promise<void>): Route[] {
  return [
    { method: 'GET', pattern: /^\/admin\/replicas$/, handler: (_req, res) => sendJson(res, 200, state.replicas.map((r) => r.view())) },
    {
      method: 'POST',
      pattern: /^\/admin\/replicas\/([^/]+)\/(\d+)\/(drain|undrain)$/,
      handler: (_req, res, [host = '', port = '', action]) => {
        const r = replicaOf(state, host, port);
        r.setDrained(action === 'drain', 'replica');
        sendJson(res, 200, { replica: r.address, drained: r.drained });
      },
    },
    {
      method: 'GET',
      pattern: /^\/admin\/replicas\/([^/]+)\/(\d+)\/(idle|ready)$/,
      handler: async (_req, res, [host = '', port = '', probe]) => {
        const r = replicaOf(state, host, port);
        // A fresh health check first: a restart quicker than checkEvery must not pass on the canary from before it.
        if (probe === 'ready') await checkNow(r);
        const pass = probe === 'idle' ? r.inflight === 0 : isReady(r);
        sendJson(res, pass ? 200 : 409, probeBody(r));
      },
    },
    {
      method: 'POST',
      pattern: /^\/admin\/gpus\/([^/]+)\/(\d+)\/(drain|undrain)$/,
      handler: (_req, res, [host = '', gpu = '', action]) => {
        const list = gpuReplicas(state, host, gpu);
        for (const r of list) r.setDrained(action === 'drain', 'gpu');
        sendJson(res, 200, { host, gpu: Number(gpu), drained: action === 'drain', replicas: list.map((r) => ({ replica: r.address, drained: r.drained })) });
      },
    },
    {
      method: 'GET',
      pattern: /^\/admin\/gpus\/([^/]+)\/(\d+)\/(idle|ready)$/,
      handler: async (_req, res, [host = '', gpu = '', probe]) => {
        const list = gpuReplicas(state, host, gpu);
        if (probe === 'ready') await Promise.all(list.map(checkNow));
        const pass = list.every((r) => (probe === 'idle' ? r.inflight === 0 : isReady(r)));
        const inflight = list.reduce((n, r) => n + r.inflight, 0);
        sendJson(res, pass ? 200 : 409, { host, gpu: Number(gpu), inflight, ready: list.every(isReady), replicas: list.map(probeBody) });
      },
    },
    {
      method: 'POST',
      pattern: /^\/admin\/models\/([^/]+)\/admission$/,
      handler: async (req, res, [name = '']) => {
        const m = modelOf(state, name);
        const body = (await readJson(req)) as { batchInflight?: unknown; ttl?: unknown };
        const limit = body.batchInflight;
        if (typeof limit !== 'number' || !Number.isInteger(limit) || limit < 0) throw new HttpError(400, 'batchInflight must be a whole number ≥ 0');
        const ttlText = body.ttl === undefined ? DEFAULT_ADMISSION_TTL : String(body.ttl);
        const ttlMs = parseDuration(ttlText);
        if (ttlMs === null || ttlMs <= 0) throw new HttpError(400, `ttl must be a positive Prometheus duration such as 30m, not ${ttlText}`);
        sendJson(res, 200, state.setAdmission(m, limit, ttlMs));
      },
    },
    { method: 'GET', pattern: /^\/admin\/models\/([^/]+)\/admission$/, handler: (_req, res, [name = '']) => sendJson(res, 200, admissionBody(modelOf(state, name))) },
    {
      method: 'DELETE',
      pattern: /^\/admin\/models\/([^/]+)\/admission$/,
      // Lifting a limit that is not there is a success: a restore step lifts every model's.
      handler: (_req, res, [name = '']) => sendJson(res, 200, { model: name, lifted: state.liftAdmission(modelOf(state, name), 'deleted') }),
    },
    {
      method: 'GET',
      pattern: /^\/admin\/events$/,
      handler: (_req, res, _params, url) => sendJson(res, 200, state.events.list(Number(url.searchParams.get('after') ?? 0) || 0)),
    },
  ];
}
