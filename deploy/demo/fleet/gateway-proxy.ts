/**
 * The client API: a completion is routed by its body's model to the least loaded routable
 * replica, retried elsewhere on an upstream error or a missed first-token deadline, and answered
 * with the fallback when no replica can serve. Pinned requests go to their replica only.
 */
import type http from 'node:http';
import { sendFallback } from './gateway-fallback.js';
import type { GatewayState, ModelState, Replica } from './gateway-state.js';
import { callUpstream, forwardAnswer, type StreamStart } from './gateway-upstream.js';
import { readRaw, sendJson, type Handler } from './http-kit.js';

/** How a client request ended, as llm_gateway_requests_total counts it. */
export type Outcome = 'ok' | 'error' | 'fallback' | 'shed';

/** What the client API needs. */
export interface ProxyDeps {
  readonly state: GatewayState;
  readonly count: (model: string, outcome: Outcome) => void;
}

type Kind = 'completion' | 'chat';
type Attempt = { readonly kind: 'served' } | { readonly kind: 'passed' } | { readonly kind: 'failed'; readonly reason: string; readonly aborted: boolean };

function apiError(res: http.ServerResponse, status: number, type: string, message: string, headers: Record<string, string> = {}): void {
  for (const [k, v] of Object.entries(headers)) res.setHeader(k, v);
  sendJson(res, status, { error: { message, type, param: null, code: status } });
}

// Once the first chunk is in, the rest is piped as it comes; the replica's in-flight count lasts until the stream ends.
function pipeStream(r: Replica, s: StreamStart, res: http.ServerResponse): void {
  let done = false;
  const finish = (): void => {
    if (done) return;
    done = true;
    r.inflight--;
  };
  res.writeHead(200, { 'content-type': s.headers['content-type'] ?? 'text/event-stream', 'cache-control': 'no-cache', 'x-gateway-replica': r.address });
  res.write(s.first);
  s.rest.on('end', finish);
  s.rest.on('close', () => {
    if (!s.rest.complete && !res.destroyed) {
      r.breaker.failure('the stream broke off');
      res.destroy();
    }
    finish();
  });
  res.on('close', () => {
    if (!res.writableFinished) s.abort();
    finish();
  });
  s.rest.pipe(res);
}

/** One try on one replica; writes the answer to `res` unless it failed. */
async function attempt(deps: ProxyDeps, r: Replica, path: string, raw: Buffer, stream: boolean, res: http.ServerResponse, signal: AbortSignal): Promise<Attempt> {
  // Sent behind as many requests as the engine runs at once, this one may wait in its queue: a missed deadline is load, not a hang.
  const queued = r.inflight >= r.target.maxNumSeqs;
  r.inflight++;
  r.breaker.acquire();
  let streaming = false;
  try {
    const deadlineMs = deps.state.config.settings.ttftTimeoutMs;
    const result = await callUpstream({ host: r.target.ip, port: r.target.port, method: 'POST', path, body: raw, deadlineMs, stream, signal });
    if (result.kind === 'failure') {
      // A queued request's timeout is retried elsewhere but does not count against the breaker: opening the breakers
      // of a backlogged model would empty its queues, then flood them again at half-open, over and over.
      if (result.aborted || (result.timedOut && queued)) r.breaker.release();
      else r.breaker.failure(result.error);
      // Nothing listens: out of routing now rather than at the next health check (which brings it back).
      if (result.code === 'ECONNREFUSED') r.setUp(false, { error: result.error, seenBy: 'request' });
      return { kind: 'failed', reason: result.error, aborted: result.aborted };
    }
    if (result.kind === 'stream') {
      r.breaker.success();
      streaming = true;
      pipeStream(r, result, res);
      return { kind: 'served' };
    }
    if (result.status >= 500) {
      r.breaker.failure(`answered ${result.status}`);
      return { kind: 'failed', reason: `answered ${result.status}: ${result.body.toString('utf8').slice(0, 200)}`, aborted: false };
    }
    const ok = result.status >= 200 && result.status < 300;
    // A 4xx is the client's request, not the replica's health: passed back as it is, never retried.
    if (ok) r.breaker.success();
    else r.breaker.release();
    forwardAnswer(res, result, { 'x-gateway-replica': r.address });
    return ok ? { kind: 'served' } : { kind: 'passed' };
  } finally {
    if (!streaming) r.inflight--;
  }
}

async function pinnedRequest(deps: ProxyDeps, model: ModelState, pin: string, path: string, raw: Buffer, stream: boolean, res: http.ServerResponse, signal: AbortSignal): Promise<void> {
  const at = pin.lastIndexOf(':');
  const r = at > 0 ? deps.state.replica(pin.slice(0, at), Number(pin.slice(at + 1))) : undefined;
  if (!r) return apiError(res, 404, 'NotFoundError', `the gateway has no replica ${pin} (x-gateway-replica is IP:PORT)`);
  if (r.target.model !== model.name) return apiError(res, 400, 'BadRequestError', `replica ${pin} serves ${r.target.model}, not ${model.name}`);
  // Drained or not, breaker or not: a pinned request is how a person (or a runbook's warm-up) asks that one replica.
  const outcome = await attempt(deps, r, path, raw, stream, res, signal);
  if (outcome.kind === 'failed' && outcome.aborted) return;
  deps.count(model.name, outcome.kind === 'served' ? 'ok' : 'error');
  if (outcome.kind === 'failed') apiError(res, 502, 'BadGatewayError', `replica ${r.address} failed: ${outcome.reason}`, { 'x-gateway-replica': r.address });
}

/** The handler of POST /v1/completions or /v1/chat/completions. */
export function completionHandler(deps: ProxyDeps, kind: Kind): Handler {
  return async (req, res, _params, url) => {
    const raw = await readRaw(req);
    let body: Record<string, unknown>;
    try {
      body = JSON.parse(raw.toString('utf8')) as Record<string, unknown>;
    } catch {
      return apiError(res, 400, 'BadRequestError', 'the request body is not JSON');
    }
    if (typeof body !== 'object' || body === null || typeof body.model !== 'string') return apiError(res, 400, 'BadRequestError', 'the request body names no model');
    const model = deps.state.models.get(body.model);
    if (!model) {
      deps.count('unknown', 'error');
      return apiError(res, 404, 'NotFoundError', `The model \`${body.model}\` does not exist.`);
    }
    const stream = body.stream === true;
    const gone = new AbortController();
    res.once('close', () => {
      if (!res.writableFinished) gone.abort();
    });
    const pin = req.headers['x-gateway-replica'];
    if (typeof pin === 'string' && pin !== '') return pinnedRequest(deps, model, pin, url.pathname, raw, stream, res, gone.signal);

    if (String(req.headers['x-priority'] ?? '').toLowerCase() === 'batch') {
      if (!deps.state.admitsBatch(model)) {
        deps.count(model.name, 'shed');
        return apiError(res, 429, 'RateLimitError', `batch requests for ${model.name} are limited to ${model.admission?.limit ?? 0} in flight`, { 'retry-after': '1' });
      }
      model.batchInflight++;
      res.once('close', () => model.batchInflight--);
    }

    const tried = new Set<Replica>();
    let reason = 'no replica is ready, undrained and with its breaker closed';
    for (let i = 0; i <= deps.state.config.settings.retries; i++) {
      const r = deps.state.pick(model, tried);
      if (!r) break;
      tried.add(r);
      const outcome = await attempt(deps, r, url.pathname, raw, stream, res, gone.signal);
      if (outcome.kind === 'served') {
        deps.state.served(model, r);
        return deps.count(model.name, 'ok');
      }
      if (outcome.kind === 'passed') return deps.count(model.name, 'error');
      if (outcome.aborted) return;
      reason = `${r.address}: ${outcome.reason}`;
    }
    deps.state.fellBack(model, tried.size === 0 ? reason : `every try failed (last ${reason})`);
    deps.count(model.name, 'fallback');
    sendFallback(res, kind, model.name, stream);
  };
}
