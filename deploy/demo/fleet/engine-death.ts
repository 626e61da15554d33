/** What a dying vLLM V1 engine prints: the EngineCore's fatal traceback, then the API server's EngineDeadError. */
import { GPU_RESERVED_MIB, GPU_TOTAL_MIB, vllmLine } from './engine-log.js';

/** PyTorch's format_size (c10/cuda/CUDACachingAllocator.cpp): bytes, KiB, MiB or GiB with two decimals. */
export function formatSize(bytes: number): string {
  if (bytes <= 1024) return `${Math.round(bytes)} bytes`;
  if (bytes <= 1048576) return `${(bytes / 1024).toFixed(2)} KiB`;
  if (bytes <= 1073741824) return `${(bytes / 1048576).toFixed(2)} MiB`;
  return `${(bytes / 1073741824).toFixed(2)} GiB`;
}

const MIB = 1048576;

/** The numbers of one CUDA OOM: this process's memory, the others' on the GPU, and the request that failed. */
export interface OomFacts {
  readonly heldMiB: number;
  readonly tryAllocateMiB: number;
  readonly others: readonly { readonly pid: number; readonly usedMiB: number }[];
  readonly gpu: number;
}

/**
 * torch.OutOfMemoryError's message as PyTorch 2.x words it (the text of the real capture in
 * shared/fixtures/gpu/cuda-oom.txt), with this engine's numbers.
 */
export function cudaOomMessage(facts: OomFacts): string {
  const capacity = (GPU_TOTAL_MIB - GPU_RESERVED_MIB) * MIB;
  const othersMiB = facts.others.reduce((sum, p) => sum + p.usedMiB, 0);
  // Each CUDA context costs the device 9 MiB more than its process reports (61967 used for 61958 in the capture).
  const free = Math.max(0, capacity - (facts.heldMiB + othersMiB + 9) * MIB);
  const others = facts.others.map((p) => `Process ${p.pid} has ${formatSize(p.usedMiB * MIB)} memory in use. `).join('');
  const allocated = Math.max(0, facts.heldMiB - 518) * MIB;
  const reserved = 1536 * MIB;
  return (
    `CUDA out of memory. Tried to allocate ${formatSize(facts.tryAllocateMiB * MIB)}. GPU ${facts.gpu} has a total capacity of ${formatSize(capacity)} of which ${formatSize(free)} is free. ` +
    `${others}Including non-PyTorch memory, this process has ${formatSize(facts.heldMiB * MIB)} memory in use. ` +
    `Of the allocated memory ${formatSize(Math.max(0, allocated - reserved))} is allocated by PyTorch, and ${formatSize(reserved)} is reserved by PyTorch but unallocated. ` +
    'If reserved but unallocated memory is large try setting PYTORCH_CUDA_ALLOC_CONF=expandable_segments:True to avoid fragmentation.  ' +
    'See documentation for Memory Management  (https://docs.pytorch.org/docs/stable/notes/cuda.html#optimizing-memory-usage-with-pytorch-cuda-alloc-conf)'
  );
}

/** The EngineCore's `logger.exception` block for an exception raised in the model's forward pass. */
export function engineCoreFatalLines(version: string, exception: string, now = new Date(), pid = process.pid): string[] {
  const site = `/opt/vllm/${version}/lib/python3.12/site-packages`;
  const frames = [
    [`${site}/vllm/v1/engine/core.py`, 701, 'run_engine_core', 'engine_core.run_busy_loop()'],
    [`${site}/vllm/v1/engine/core.py`, 728, 'run_busy_loop', 'self._process_engine_step()'],
    [`${site}/vllm/v1/engine/core.py`, 754, '_process_engine_step', 'outputs, model_executed = self.step_fn()'],
    [`${site}/vllm/v1/engine/core.py`, 284, 'step', 'model_output = self.execute_model_with_error_logging('],
    [`${site}/vllm/v1/worker/gpu_model_runner.py`, 2241, 'execute_model', 'model_output = self.model('],
    [`${site}/torch/nn/modules/module.py`, 1773, '_wrapped_call_impl', 'return self._call_impl(*args, **kwargs)'],
  ] as const;
  const body = [
    'EngineCore encountered a fatal error.',
    'Traceback (most recent call last):',
    ...frames.flatMap(([file, line, fn, code]) => [`  File "${file}", line ${line}, in ${fn}`, `    ${code}`]),
    exception,
  ];
  return body.flatMap((text) => text.split('\n')).map((text) => vllmLine('EngineCore_DP0', 'ERROR', 'core.py:710', text, now, pid));
}

/** The API server's lines once its engine core is gone, with one "failed (engine dead)" per in-flight request. */
export function engineDeadLines(version: string, requestIds: readonly string[], now = new Date()): string[] {
  const site = `/opt/vllm/${version}/lib/python3.12/site-packages`;
  const handler = [
    'AsyncLLM output_handler failed.',
    'Traceback (most recent call last):',
    `  File "${site}/vllm/v1/engine/async_llm.py", line 439, in output_handler`,
    '    outputs = await engine_core.get_output_async()',
    `  File "${site}/vllm/v1/engine/core_client.py", line 846, in get_output_async`,
    '    raise self._format_exception(outputs) from None',
    'vllm.v1.engine.exceptions.EngineDeadError: EngineCore encountered an issue. See stack trace (above) for the root cause.',
  ].map((text) => vllmLine('APIServer', 'ERROR', 'async_llm.py:480', text, now));
  const requests = requestIds.map((id) => vllmLine('APIServer', 'INFO', 'async_llm.py:420', `Request ${id} failed (engine dead).`, now));
  return [...handler, ...requests, vllmLine('APIServer', 'ERROR', 'core_client.py:564', 'Engine core proc EngineCore_DP0 died unexpectedly, shutting down client.', now)];
}

/** The lines of an engine core that fails while starting (before the model is loaded), then the API server's. */
export function startupFailureLines(version: string, exception: string, pid: number, now = new Date()): string[] {
  const site = `/opt/vllm/${version}/lib/python3.12/site-packages`;
  const core = [
    'EngineCore failed to start.',
    'Traceback (most recent call last):',
    `  File "${site}/vllm/v1/engine/core.py", line 699, in run_engine_core`,
    '    engine_core = EngineCoreProc(*args, **kwargs)',
    `  File "${site}/vllm/v1/worker/gpu_worker.py", line 189, in init_device`,
    '    torch.cuda.set_device(self.device)',
    ...exception.split('\n'),
  ].map((text) => vllmLine('EngineCore_DP0', 'ERROR', 'core.py:708', text, now, pid));
  const api = `RuntimeError: Engine core initialization failed. See root cause above. Failed core proc(s): {'EngineCore_DP0': 1}`;
  return [...core, vllmLine('APIServer', 'ERROR', 'api_server.py:1920', api, now, pid)];
}

/** uvicorn's shutdown lines. */
export function shutdownLines(): string[] {
  const p = `(APIServer pid=${process.pid}) INFO:     `;
  return [`${p}Shutting down`, `${p}Waiting for application shutdown.`, `${p}Application shutdown complete.`, `${p}Finished server process [${process.pid}]`];
}
