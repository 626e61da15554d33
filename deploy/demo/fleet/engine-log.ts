/** vLLM's log lines as a V1 server prints them: `(APIServer pid=N) INFO 11-26 14:25:42 [file.py:123] message`. */
import type { EngineOptions } from './engine-args.js';

/** The process that prints a line: the API server or its engine core. */
export type LogProcess = 'APIServer' | 'EngineCore_DP0';

function stamp(date: Date): string {
  const two = (n: number): string => String(n).padStart(2, '0');
  return `${two(date.getUTCMonth() + 1)}-${two(date.getUTCDate())} ${two(date.getUTCHours())}:${two(date.getUTCMinutes())}:${two(date.getUTCSeconds())}`;
}

/** One formatted line (vLLM's logger format, with the V1 process prefix). */
export function vllmLine(proc: LogProcess, level: 'INFO' | 'WARNING' | 'ERROR', where: string, message: string, date = new Date(), pid = process.pid): string {
  return `(${proc} pid=${pid}) ${level} ${stamp(date)} [${where}] ${message}`;
}

/** Prints to stdout (vLLM's logging handler writes to stdout; the unit's journal captures it). */
export function log(proc: LogProcess, level: 'INFO' | 'WARNING' | 'ERROR', where: string, message: string): void {
  process.stdout.write(`${vllmLine(proc, level, where, message)}\n`);
}

/** A uvicorn line, which has no timestamp. */
export function uvicorn(message: string): void {
  process.stdout.write(`(APIServer pid=${process.pid}) INFO:     ${message}\n`);
}

/** The memory plan of a loaded engine on an 80 GB H100: weights, KV cache and blocks. */
export interface MemoryPlan {
  readonly heldMiB: number;
  readonly weightsMiB: number;
  readonly kvCacheMiB: number;
  readonly numGpuBlocks: number;
  readonly blockSize: number;
}

/** MiB of the GPU of the real captures. */
export const GPU_TOTAL_MIB = 81559;
/** MiB the driver keeps (81559 total, 81079 free when idle). */
export const GPU_RESERVED_MIB = 480;

/**
 * The plan for `--gpu-memory-utilization`: weights from the parameter count in the model name
 * (bf16, 2 bytes a parameter; 8B when the name has none), ~1.5 GiB of activations and CUDA
 * graphs, the rest KV cache in 16-token blocks of 2 MiB (Llama-3-8B: 32 layers × 8 KV heads × 128 × 2 × 2 bytes a token).
 */
export function memoryPlan(options: EngineOptions): MemoryPlan {
  const heldMiB = Math.round(options.gpuMemoryUtilization * GPU_TOTAL_MIB);
  const billions = Number(/(\d+(?:\.\d+)?)b\b/i.exec(options.model)?.[1] ?? 8);
  const weightsMiB = Math.min(Math.round(billions * 1907.35), Math.round(GPU_TOTAL_MIB * 0.6));
  const kvCacheMiB = heldMiB - weightsMiB - 1536;
  return { heldMiB, weightsMiB, kvCacheMiB, numGpuBlocks: Math.max(0, Math.floor(kvCacheMiB / 2)), blockSize: 16 };
}

const thousands = (n: number): string => n.toLocaleString('en-US');

/** The start banner, before the model loads. */
export function bannerLines(options: EngineOptions): void {
  log('APIServer', 'INFO', 'api_server.py:1839', `vLLM API server version ${options.version}`);
  const args = `{'model_tag': '${options.model}', 'host': '${options.host}', 'port': ${options.port}, 'model': '${options.model}', 'max_model_len': ${options.maxModelLen}, 'gpu_memory_utilization': ${options.gpuMemoryUtilization}, 'max_num_seqs': ${options.maxNumSeqs}${options.enforceEager ? ", 'enforce_eager': True" : ''}}`;
  log('APIServer', 'INFO', 'utils.py:233', `non-default args: ${args}`);
  log('APIServer', 'INFO', 'model.py:547', 'Resolved architecture: LlamaForCausalLM');
  log('EngineCore_DP0', 'INFO', 'core.py:644', 'Waiting for init message from front-end.');
  log('EngineCore_DP0', 'INFO', 'gpu_model_runner.py:2602', `Starting to load model ${options.model}...`);
}

/** The lines of a finished load: weights, KV cache size, readiness. */
export function loadedLines(options: EngineOptions, plan: MemoryPlan, tookSeconds: number): void {
  const gib = (mib: number): string => (mib / 1024).toFixed(4);
  log('EngineCore_DP0', 'INFO', 'gpu_model_runner.py:2653', `Model loading took ${gib(plan.weightsMiB)} GiB and ${(tookSeconds * 0.6).toFixed(6)} seconds`);
  log('EngineCore_DP0', 'INFO', 'gpu_worker.py:298', `Available KV cache memory: ${(plan.kvCacheMiB / 1024).toFixed(2)} GiB`);
  const tokens = plan.numGpuBlocks * plan.blockSize;
  log('EngineCore_DP0', 'INFO', 'kv_cache_utils.py:1087', `GPU KV cache size: ${thousands(tokens)} tokens`);
  log('EngineCore_DP0', 'INFO', 'kv_cache_utils.py:1091', `Maximum concurrency for ${thousands(options.maxModelLen)} tokens per request: ${(tokens / options.maxModelLen).toFixed(2)}x`);
  log('EngineCore_DP0', 'INFO', 'core.py:210', `init engine (profile, create kv cache, warmup model) took ${(tookSeconds * 0.4).toFixed(2)} seconds`);
  log('APIServer', 'INFO', 'api_server.py:1634', "Supported_tasks: ['generate']");
  log('APIServer', 'INFO', 'api_server.py:1912', `Starting vLLM API server 0 on http://${options.host}:${options.port}`);
  uvicorn(`Started server process [${process.pid}]`);
  uvicorn('Waiting for application startup.');
  uvicorn('Application startup complete.');
}

/** The periodic throughput line vLLM's LoggingStatLogger prints every 10 s while there is work. */
export function statsLine(promptTps: number, genTps: number, running: number, waiting: number, kvPct: number): void {
  log(
    'APIServer',
    'INFO',
    'loggers.py:123',
    `Engine 000: Avg prompt throughput: ${promptTps.toFixed(1)} tokens/s, Avg generation throughput: ${genTps.toFixed(1)} tokens/s, Running: ${running} reqs, Waiting: ${waiting} reqs, GPU KV cache usage: ${kvPct.toFixed(1)}%, Prefix cache hit rate: 0.0%`,
  );
}
