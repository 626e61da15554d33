/** The degraded answer the gateway gives when no replica of a model can serve: OpenAI-shaped, marked as a fallback. */
import { randomBytes } from 'node:crypto';
import type http from 'node:http';

/** The canned text of every fallback answer. */
export function fallbackText(model: string): string {
  return `The service is degraded: no replica of ${model} could answer just now. This is a canned reply from the gateway; please try again shortly.`;
}

/** Answers `res` with the fallback in the shape the client asked for (completion or chat, streamed or not). */
export function sendFallback(res: http.ServerResponse, kind: 'completion' | 'chat', model: string, stream: boolean): void {
  const text = fallbackText(model);
  const id = `${kind === 'completion' ? 'cmpl' : 'chatcmpl'}-fallback-${randomBytes(8).toString('hex')}`;
  const created = Math.floor(Date.now() / 1000);
  const usage = { prompt_tokens: 0, completion_tokens: 0, total_tokens: 0 };
  const headers = { 'x-gateway-fallback': 'degraded' };
  if (stream) {
    const delta = kind === 'completion' ? { text } : { delta: { role: 'assistant', content: text } };
    const chunk = { id, object: kind === 'completion' ? 'text_completion' : 'chat.completion.chunk', created, model, fallback: true, choices: [{ index: 0, ...delta, finish_reason: 'stop' }] };
    res.writeHead(200, { 'content-type': 'text/event-stream; charset=utf-8', 'cache-control': 'no-cache', ...headers });
    res.end(`data: ${JSON.stringify(chunk)}\n\ndata: [DONE]\n\n`);
    return;
  }
  const choice =
    kind === 'completion'
      ? { index: 0, text, logprobs: null, finish_reason: 'stop' }
      : { index: 0, message: { role: 'assistant', content: text }, logprobs: null, finish_reason: 'stop' };
  const body = JSON.stringify({ id, object: kind === 'completion' ? 'text_completion' : 'chat.completion', created, model, fallback: true, choices: [choice], usage });
  res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body), ...headers });
  res.end(body);
}
