/**
 * The vLLM OpenAI-server stand-in, one process per running vllm@MODEL unit:
 * `node build/demo/deploy/demo/fleet/engine.js --model M --host IP --port P --version V ...`.
 */
import http from 'node:http';
import type { EngineDirective } from './api-types.js';
import { EngineArgsError, parseEngineArgs, type EngineOptions } from './engine-args.js';
import { createEngineListener } from './engine-api.js';
import { statsLine } from './engine-log.js';
import { EngineRuntime } from './engine-runtime.js';
import { listen } from './http-kit.js';

const HEARTBEAT_MS = 100;

function parseOrExit(): EngineOptions {
  try {
    return parseEngineArgs(process.argv.slice(2));
  } catch (thrown) {
    if (!(thrown instanceof EngineArgsError)) throw thrown;
    process.stderr.write(`${thrown.message}\n`);
    process.exit(thrown.exitCode);
  }
}

/** Reports to the supervisor and applies its answer; an unreachable supervisor just means no fault acts. */
function controlLoop(runtime: EngineRuntime, control: string): void {
  const { hostName, model } = runtime.options;
  const url = `${control}/engines/${encodeURIComponent(hostName)}/${encodeURIComponent(model)}/heartbeat`;
  const beat = async (): Promise<void> => {
    try {
      const res = await fetch(url, { method: 'POST', body: JSON.stringify(runtime.heartbeat()), headers: { 'content-type': 'application/json' }, signal: AbortSignal.timeout(1000) });
      if (res.ok) runtime.apply((await res.json()) as EngineDirective);
      else await res.body?.cancel();
    } catch {
      // The supervisor may be restarting or gone; the parent watch below ends an orphan.
    }
    setTimeout(() => void beat(), HEARTBEAT_MS);
  };
  void beat();
}

async function main(): Promise<void> {
  const options = parseOrExit();
  const runtime = new EngineRuntime(options);
  const server = http.createServer(createEngineListener(runtime));
  runtime.server = server;
  for (const signal of ['SIGTERM', 'SIGINT'] as const) process.on(signal, () => runtime.shutdown(signal));
  try {
    await listen(server, options.host, options.port);
  } catch (thrown) {
    // uvicorn's words for a taken port.
    const reason = thrown instanceof Error ? thrown.message : String(thrown);
    process.stderr.write(`ERROR:    [Errno 98] error while attempting to bind on address ('${options.host}', ${options.port}): address already in use (${reason})\n`);
    process.exit(1);
  }
  runtime.beginLoading();
  if (options.control) controlLoop(runtime, options.control);
  // A supervisor that died without stopping its engines leaves them orphaned: they go too.
  const parent = process.ppid;
  setInterval(() => {
    if (process.ppid !== parent) process.exit(1);
  }, 1000).unref();
  setInterval(() => {
    const { running, waiting } = runtime.scheduler;
    const stats = runtime.scheduler.takeStats();
    if (runtime.phase === 'ready' && (running.length > 0 || waiting.length > 0 || stats.generated > 0)) {
      const kv = runtime.plan.numGpuBlocks === 0 ? 0 : (100 * runtime.scheduler.kvBlocksInUse(runtime.plan.blockSize)) / runtime.plan.numGpuBlocks;
      statsLine(stats.prompt / 10, stats.generated / 10, running.length, waiting.length, kv);
    }
  }, 10_000).unref();
}

void main();
