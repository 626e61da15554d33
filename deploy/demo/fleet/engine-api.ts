/** The engine's HTTP surface: /health, /version, /v1/models, completions (OpenAI shapes, streaming or not) and /metrics. */
import { randomBytes } from 'node:crypto';
import type http from 'node:http';
import { createRouter, readJson, sendJson, sendText, type Handler } from './http-kit.js';
import type { FinishReason, Sequence } from './engine-scheduler.js';
import type { EngineRuntime } from './engine-runtime.js';

type Kind = 'completion' | 'chat';

function apiError(res: http.ServerResponse, status: number, type: string, message: string): void {
  sendJson(res, status, { error: { message, type, param: null, code: status } });
}

function promptText(kind: Kind, body: Record<string, unknown>): string {
  if (kind === 'completion') return Array.isArray(body.prompt) ? body.prompt.join(' ') : String(body.prompt ?? '');
  const messages = Array.isArray(body.messages) ? (body.messages as { content?: unknown }[]) : [];
  return messages.map((m) => (typeof m.content === 'string' ? m.content : JSON.stringify(m.content ?? ''))).join('\n');
}

function chunkOf(kind: Kind, base: Record<string, unknown>, text: string | null, finish: FinishReason | null, first: boolean): unknown {
  if (kind === 'completion') return { ...base, choices: [{ index: 0, text: text ?? '', logprobs: null, finish_reason: finish, stop_reason: null }] };
  const delta = finish !== null ? {} : first ? { role: 'assistant', content: text ?? '' } : { content: text ?? '' };
  return { ...base, choices: [{ index: 0, delta, logprobs: null, finish_reason: finish }] };
}

function completionHandler(runtime: EngineRuntime, kind: Kind): Handler {
  return async (req, res) => {
    if (runtime.phase !== 'ready') return apiError(res, 503, 'ServiceUnavailableError', runtime.phase === 'loading' ? 'The model is still loading.' : 'EngineCore encountered an issue.');
    const body = (await readJson(req)) as Record<string, unknown>;
    const { model } = runtime.options;
    if (body.model !== undefined && body.model !== model) return apiError(res, 404, 'NotFoundError', `The model \`${String(body.model)}\` does not exist.`);
    const promptTokens = Math.max(1, Math.ceil(promptText(kind, body).length / 4));
    const maxTokens = Number(body.max_tokens ?? body.max_completion_tokens ?? 16);
    if (!Number.isInteger(maxTokens) || maxTokens < 1) return apiError(res, 400, 'BadRequestError', `max_tokens must be at least 1, got ${String(body.max_tokens)}.`);
    if (promptTokens + maxTokens > runtime.options.maxModelLen) {
      return apiError(res, 400, 'BadRequestError', `This model's maximum context length is ${runtime.options.maxModelLen} tokens. However, you requested ${promptTokens + maxTokens} tokens (${promptTokens} in the messages, ${maxTokens} in the completion). Please reduce the length of the messages or completion.`);
    }
    const stream = body.stream === true;
    const includeUsage = (body.stream_options as { include_usage?: unknown } | undefined)?.include_usage === true;
    const id = `${kind === 'completion' ? 'cmpl' : 'chatcmpl'}-${randomBytes(16).toString('hex')}`;
    const base = { id, object: kind === 'completion' ? 'text_completion' : stream ? 'chat.completion.chunk' : 'chat.completion', created: Math.floor(Date.now() / 1000), model };
    let text = '';
    let first = true;
    const write = (payload: unknown): void => void res.write(`data: ${JSON.stringify(payload)}\n\n`);
    if (stream) {
      // Headers go out at once, as Starlette's StreamingResponse sends them: a hung engine answers 200 and then nothing.
      res.writeHead(200, { 'content-type': 'text/event-stream; charset=utf-8', 'cache-control': 'no-cache' });
      res.flushHeaders();
    }
    const usage = (): Record<string, unknown> => ({ prompt_tokens: promptTokens, total_tokens: promptTokens + seq.generated, completion_tokens: seq.generated, prompt_tokens_details: null });
    const seq: Sequence = {
      id,
      promptTokens,
      maxTokens,
      arrivedAt: Date.now(),
      admittedAt: null,
      firstTokenAt: null,
      lastTokenAt: null,
      nextTokenAt: 0,
      generated: 0,
      abandoned: false,
      onToken: (token) => {
        text += token;
        if (stream) write(chunkOf(kind, base, token, null, first));
        first = false;
      },
      onFinish: (reason) => {
        runtime.inflight.delete(id);
        if (res.destroyed) return;
        if (reason === 'error' || reason === 'abort') {
          if (stream) return void res.destroy();
          return apiError(res, 500, 'InternalServerError', 'EngineCore encountered an issue. See stack trace (above) for the root cause.');
        }
        if (stream) {
          write(chunkOf(kind, base, kind === 'completion' ? '' : null, reason, false));
          if (includeUsage) write({ ...base, choices: [], usage: usage() });
          res.end('data: [DONE]\n\n');
          return;
        }
        const choice =
          kind === 'completion'
            ? { index: 0, text, logprobs: null, finish_reason: reason, stop_reason: null, prompt_logprobs: null }
            : { index: 0, message: { role: 'assistant', content: text, refusal: null, annotations: null, audio: null, function_call: null, tool_calls: [], reasoning_content: null }, logprobs: null, finish_reason: reason, stop_reason: null };
        sendJson(res, 200, { ...base, choices: [choice], service_tier: null, system_fingerprint: null, usage: usage(), prompt_logprobs: null, kv_transfer_params: null });
      },
    };
    res.on('close', () => {
      if (!res.writableEnded) runtime.scheduler.abandon(seq);
    });
    runtime.inflight.set(id, seq);
    runtime.scheduler.submit(seq);
  };
}

const KNOWN_PATHS = new Set(['/health', '/version', '/v1/models', '/v1/completions', '/v1/chat/completions', '/metrics']);

/** The request listener of one engine. */
export function createEngineListener(runtime: EngineRuntime): http.RequestListener {
  const { options } = runtime;
  const router = createRouter([
    { method: 'GET', pattern: /^\/health$/, handler: (_req, res) => sendText(res, runtime.phase === 'ready' ? 200 : 503, '') },
    { method: 'GET', pattern: /^\/version$/, handler: (_req, res) => sendJson(res, 200, { version: options.version }) },
    {
      method: 'GET',
      pattern: /^\/v1\/models$/,
      handler: (_req, res) => {
        if (runtime.phase !== 'ready') return apiError(res, 503, 'ServiceUnavailableError', 'The model is still loading.');
        const created = Math.floor(runtime.startedAt / 1000);
        const permission = [{ id: `modelperm-${options.model}`, object: 'model_permission', created, allow_create_engine: false, allow_sampling: true, allow_logprobs: true, allow_search_indices: false, allow_view: true, allow_fine_tuning: false, organization: '*', group: null, is_blocking: false }];
        sendJson(res, 200, { object: 'list', data: [{ id: options.model, object: 'model', created, owned_by: 'vllm', root: options.model, parent: null, max_model_len: options.maxModelLen, permission }] });
      },
    },
    { method: 'POST', pattern: /^\/v1\/completions$/, handler: completionHandler(runtime, 'completion') },
    { method: 'POST', pattern: /^\/v1\/chat\/completions$/, handler: completionHandler(runtime, 'chat') },
    {
      method: 'GET',
      pattern: /^\/metrics$/,
      handler: async (_req, res) => sendText(res, 200, await runtime.metrics.registry.metrics(), runtime.metrics.registry.contentType),
    },
  ]);
  return (req, res) => {
    const path = new URL(req.url ?? '/', 'http://x').pathname;
    // Unknown paths share one label value, as prometheus-fastapi-instrumentator's "none" does.
    const handler = KNOWN_PATHS.has(path) ? path : 'none';
    res.on('finish', () => runtime.metrics.httpRequests.labels({ handler, method: req.method ?? 'GET', status: `${String(res.statusCode)[0]}xx` }).inc());
    router(req, res);
  };
}
