import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { startChild, stopAll, type ChildHandle } from '../support/child.js';
import { freePort } from '../support/free-port.js';
import { waitFor } from '../support/wait-for.js';
import { compiledDemo, ensureDemoBuild } from './demo-fleet.js';

const HOST = '127.0.20.1';

async function startEngine(extra: string[] = [], load = '0.8'): Promise<{ child: ChildHandle; url: string }> {
  const port = await freePort();
  const args = [compiledDemo('fleet/engine.js'), '--model', 'llama-3-8b', '--host', HOST, '--port', String(port), '--version', '0.11.0', '--load-seconds', load, ...extra];
  const child = await startChild(process.execPath, args, { name: 'engine' });
  const url = `http://${HOST}:${port}`;
  await waitFor(async () => ((await fetch(`${url}/version`)).ok ? true : undefined), { description: 'the engine listening', timeoutMs: 10_000, context: () => child.describe() });
  return { child, url };
}

const complete = (url: string, body: Record<string, unknown>): Promise<Response> =>
  fetch(`${url}/v1/completions`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ model: 'llama-3-8b', prompt: 'Say hello to the fleet', ...body }) });

function metric(text: string, name: string, labels = ''): number {
  const line = text.split('\n').find((l) => l.startsWith(`${name}{`) && l.includes(labels));
  if (!line) throw new Error(`no ${name}{${labels}} in\n${text}`);
  return Number(line.slice(line.lastIndexOf(' ') + 1));
}

beforeAll(() => ensureDemoBuild(), 120_000);
afterAll(() => stopAll());

describe('the vLLM engine stand-in', () => {
  it('answers 503 on /health and /v1 while the model loads, then 200 and its version', async () => {
    const { url } = await startEngine([], '1.5');
    expect((await fetch(`${url}/health`)).status).toBe(503);
    expect((await complete(url, {})).status).toBe(503);
    expect((await fetch(`${url}/metrics`)).status).toBe(200);
    await waitFor(async () => ((await fetch(`${url}/health`)).status === 200 ? true : undefined), { description: '/health 200', timeoutMs: 5000 });
    expect(await (await fetch(`${url}/version`)).json()).toEqual({ version: '0.11.0' });
    const models = (await (await fetch(`${url}/v1/models`)).json()) as { data: { id: string; root: string }[] };
    expect(models.data[0]).toMatchObject({ id: 'llama-3-8b', root: 'llama-3-8b', object: 'model' });
  });

  it('runs at most max-num-seqs requests at once, queues the rest, and finishes them all at its token rate', async () => {
    const { url } = await startEngine(['--max-num-seqs', '2', '--tokens-per-second', '20'], '0');
    await waitFor(async () => ((await fetch(`${url}/health`)).status === 200 ? true : undefined), { description: 'loaded', timeoutMs: 5000 });
    const started = Date.now();
    const answers = Array.from({ length: 5 }, () => complete(url, { max_tokens: 6 }).then((r) => r.json() as Promise<{ usage: { completion_tokens: number }; choices: { finish_reason: string; text: string }[] }>));
    await new Promise((r) => setTimeout(r, 150));
    const during = await (await fetch(`${url}/metrics`)).text();
    expect(metric(during, 'vllm:num_requests_running')).toBe(2);
    expect(metric(during, 'vllm:num_requests_waiting')).toBe(3);
    const bodies = await Promise.all(answers);
    // Three batches (2 + 2 + 1) of 7 token times (prefill + 6 tokens) at 20 tokens/s: about 1.05 s.
    expect(Date.now() - started).toBeGreaterThanOrEqual(900);
    for (const b of bodies) {
      expect(b.usage.completion_tokens).toBe(6);
      expect(b.choices[0]?.finish_reason).toBe('length');
      expect(b.choices[0]?.text.split(' ').filter(Boolean)).toHaveLength(6);
    }
    const after = await (await fetch(`${url}/metrics`)).text();
    expect(metric(after, 'vllm:generation_tokens_total')).toBe(30);
    expect(metric(after, 'vllm:request_success_total', 'finished_reason="length"')).toBe(5);
    expect(metric(after, 'vllm:num_requests_waiting')).toBe(0);
    expect(metric(after, 'vllm:request_queue_time_seconds_count')).toBe(5);
  });

  it("exposes vLLM's metric names, labels model_name and engine, and vLLM's histogram buckets", async () => {
    const { url } = await startEngine(['--gpu-memory-utilization', '0.85'], '0');
    const text = await (await fetch(`${url}/metrics`)).text();
    const names = new Set(text.split('\n').filter((l) => l && !l.startsWith('#')).map((l) => l.slice(0, l.indexOf('{'))));
    for (const name of ['vllm:num_requests_running', 'vllm:num_requests_waiting', 'vllm:kv_cache_usage_perc', 'vllm:num_preemptions_total', 'vllm:generation_tokens_total', 'vllm:prompt_tokens_total', 'vllm:request_success_total', 'vllm:time_to_first_token_seconds_bucket', 'vllm:e2e_request_latency_seconds_bucket', 'vllm:request_queue_time_seconds_bucket', 'vllm:cache_config_info']) {
      expect(names).toContain(name);
    }
    // Counters are exposed with _total once, as Python's client names them.
    expect([...names].filter((n) => /^vllm:(generation|prompt)_tokens$/.test(n) || n.endsWith('_total_total'))).toEqual([]);
    expect(text).toMatch(/^vllm:num_requests_running\{model_name="llama-3-8b",engine="0"\} 0$/m);
    expect(text).toContain('vllm:time_to_first_token_seconds_bucket{le="2560",model_name="llama-3-8b",engine="0"}');
    expect(text).toContain('vllm:request_queue_time_seconds_bucket{le="7680",model_name="llama-3-8b",engine="0"}');
    expect(text).toContain('vllm:e2e_request_latency_seconds_bucket{le="0.3",model_name="llama-3-8b",engine="0"}');
    const info = text.split('\n').find((l) => l.startsWith('vllm:cache_config_info{')) ?? '';
    expect(info).toMatch(/gpu_memory_utilization="0.85"/);
    expect(info).toMatch(/block_size="16"/);
    expect(info).toMatch(/num_gpu_blocks="\d{4,}"/);
    expect(info.endsWith(' 1')).toBe(true);
  });

  it('streams chat completions as server-sent events ending with [DONE], with usage when asked', async () => {
    const { url } = await startEngine([], '0');
    const res = await fetch(`${url}/v1/chat/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'llama-3-8b', messages: [{ role: 'user', content: 'hi' }], max_tokens: 3, stream: true, stream_options: { include_usage: true } }),
    });
    expect(res.headers.get('content-type')).toMatch(/^text\/event-stream/);
    const events = (await res.text()).split('\n\n').filter(Boolean).map((e) => e.replace(/^data: /, ''));
    expect(events.at(-1)).toBe('[DONE]');
    const chunks = events.slice(0, -1).map((e) => JSON.parse(e) as { object: string; choices: { delta?: { role?: string; content?: string }; finish_reason: string | null }[]; usage?: { completion_tokens: number } });
    expect(chunks[0]?.choices[0]?.delta?.role).toBe('assistant');
    expect(chunks.every((c) => c.object === 'chat.completion.chunk')).toBe(true);
    expect(chunks.find((c) => c.choices[0]?.finish_reason === 'length')).toBeDefined();
    expect(chunks.at(-1)?.usage?.completion_tokens).toBe(3);
  });

  it('answers 404 for another model, and a client that goes away aborts its request', async () => {
    const { url } = await startEngine(['--tokens-per-second', '5'], '0');
    const other = await complete(url, { model: 'mistral-7b' });
    expect(other.status).toBe(404);
    expect(((await other.json()) as { error: { message: string } }).error.message).toBe('The model `mistral-7b` does not exist.');
    const abort = new AbortController();
    const gone = fetch(`${url}/v1/completions`, { method: 'POST', body: JSON.stringify({ max_tokens: 100 }), signal: abort.signal }).catch(() => 'gone');
    await waitFor(async () => (metric(await (await fetch(`${url}/metrics`)).text(), 'vllm:num_requests_running') === 1 ? true : undefined), { description: 'the request running', timeoutMs: 5000 });
    abort.abort();
    expect(await gone).toBe('gone');
    await waitFor(async () => (metric(await (await fetch(`${url}/metrics`)).text(), 'vllm:request_success_total', 'finished_reason="abort"') === 1 ? true : undefined), { description: 'one abort counted', timeoutMs: 5000 });
    expect(metric(await (await fetch(`${url}/metrics`)).text(), 'vllm:num_requests_running')).toBe(0);
  });

  it('refuses a bad flag the way vllm serve does: argparse usage and exit 2', async () => {
    const child = await startChild(process.execPath, [compiledDemo('fleet/engine.js'), '--model', 'm', '--gpu-memory-utilization', 'lots'], { name: 'bad engine' });
    expect(await child.exited).toEqual({ code: 2, signal: null });
    expect(child.output()).toContain("vllm serve: error: argument --gpu-memory-utilization: invalid float value: 'lots'");
  });
});
