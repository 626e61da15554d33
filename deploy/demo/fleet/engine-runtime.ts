/** One engine's life: loading, serving, the faults the supervisor directs, and its death or shutdown. */
import type http from 'node:http';
import type { EngineDirective, EngineHeartbeat } from './api-types.js';
import type { EngineOptions } from './engine-args.js';
import { cudaOomMessage, engineCoreFatalLines, engineDeadLines, shutdownLines, startupFailureLines } from './engine-death.js';
import { bannerLines, loadedLines, log, memoryPlan, type MemoryPlan } from './engine-log.js';
import { createEngineMetrics, type EngineMetrics } from './engine-metrics.js';
import { Scheduler, type Sequence } from './engine-scheduler.js';
import { closeServer } from './http-kit.js';

/** The CUDA error a crash-looping engine dies of. */
const ILLEGAL_ACCESS = [
  'torch.AcceleratorError: CUDA error: an illegal memory access was encountered',
  'CUDA kernel errors might be asynchronously reported at some other API call, so the stacktrace below might be incorrect.',
  'For debugging consider passing CUDA_LAUNCH_BLOCKING=1',
  'Compile with `TORCH_USE_CUDA_DSA` to enable device-side assertions.',
].join('\n');

interface OomRamp {
  readonly startedAt: number;
  readonly fromMiB: number;
  readonly targetMiB: number;
  readonly rampMs: number;
  readonly holdMs: number;
  readonly others: readonly { readonly pid: number; readonly usedMiB: number }[];
}

/** The engine's state machine; the HTTP listener and the control loop both act on it. */
export class EngineRuntime {
  phase: 'loading' | 'ready' | 'dying' = 'loading';
  readonly startedAt = Date.now();
  readyAt: number | null = null;
  readonly plan: MemoryPlan;
  readonly metrics: EngineMetrics;
  readonly scheduler: Scheduler;
  readonly inflight = new Map<string, Sequence>();
  server: http.Server | null = null;
  private ignoreSigterm = false;
  private exitScheduled = false;
  private oom: OomRamp | null = null;
  private crashTimer: NodeJS.Timeout | null = null;
  private readonly timers: NodeJS.Timeout[] = [];

  constructor(readonly options: EngineOptions) {
    this.plan = memoryPlan(options);
    this.metrics = createEngineMetrics(options, this.plan, () => this.kvUsage());
    this.scheduler = new Scheduler(options.maxNumSeqs, options.tokensPerSecond, this.metrics);
  }

  /** Prints the banner and finishes loading after --load-seconds (or fails: no room for the KV cache). */
  beginLoading(): void {
    bannerLines(this.options);
    this.later(this.options.loadSeconds * 1000, () => {
      if (this.phase !== 'loading') return;
      if (this.plan.numGpuBlocks <= 0) {
        const why = 'ValueError: No available memory for the cache blocks. Try increasing `gpu_memory_utilization` when initializing the engine.';
        return this.die(startupFailureLines(this.options.version, why, process.pid), 1);
      }
      this.phase = 'ready';
      this.readyAt = Date.now();
      loadedLines(this.options, this.plan, this.options.loadSeconds);
    });
    this.timers.push(setInterval(() => this.scheduler.tick(), 10));
    this.timers.push(setInterval(() => this.checkOom(), 50));
  }

  /** GPU memory this process holds now: growing while loading, the plan once loaded, the OOM ramp under that fault. */
  memoryMiB(now = Date.now()): number {
    if (this.phase === 'loading') {
      const loadMs = this.options.loadSeconds * 1000;
      return Math.round(loadMs <= 0 ? this.plan.heldMiB : Math.min(1, (now - this.startedAt) / loadMs) * this.plan.heldMiB);
    }
    if (this.oom) {
      const f = this.oom.rampMs <= 0 ? 1 : Math.min(1, (now - this.oom.startedAt) / this.oom.rampMs);
      return Math.round(this.oom.fromMiB + f * (this.oom.targetMiB - this.oom.fromMiB));
    }
    return this.plan.heldMiB;
  }

  /** The report the control loop sends. */
  heartbeat(): EngineHeartbeat {
    const { running, waiting, hung } = this.scheduler;
    const busy = hung ? 100 : running.length === 0 ? 0 : Math.min(100, 35 + Math.round((65 * running.length) / this.options.maxNumSeqs));
    return { pid: process.pid, phase: this.phase, memoryMiB: this.memoryMiB(), utilizationPct: this.phase === 'ready' ? busy : 0, running: running.length, waiting: waiting.length };
  }

  /** Applies what the supervisor says acts on this engine now. */
  apply(d: EngineDirective): void {
    if (this.phase === 'dying') return;
    if (this.scheduler.hung && !d.hung) this.scheduler.resume();
    this.scheduler.hung = d.hung;
    this.ignoreSigterm = d.ignoreSigterm;
    if (d.exit) {
      const { lines, code } = d.exit;
      if (!this.exitScheduled) this.later(d.exit.afterMs, () => this.die([...lines], code));
      this.exitScheduled = true;
      return;
    }
    if (d.crashAfterReadySeconds === null && this.crashTimer) {
      clearTimeout(this.crashTimer);
      this.crashTimer = null;
    }
    if (d.crashAfterReadySeconds !== null && this.crashTimer === null && this.readyAt !== null) {
      const at = Math.max(this.readyAt, Date.now()) + d.crashAfterReadySeconds * 1000;
      this.crashTimer = this.later(at - Date.now(), () => this.die(engineCoreFatalLines(this.options.version, ILLEGAL_ACCESS), 1));
    }
    if (d.oom === null) this.oom = null;
    else if (this.oom === null && this.phase === 'ready') {
      const from = this.memoryMiB();
      this.oom = { startedAt: Date.now(), fromMiB: from, targetMiB: Math.max(from, d.oom.targetMiB), rampMs: d.oom.rampSeconds * 1000, holdMs: d.oom.holdSeconds * 1000, others: d.oom.pidsOnGpu.filter((p) => p.pid !== process.pid) };
    }
  }

  /** SIGTERM or SIGINT: uvicorn's graceful shutdown, unless a hung engine is told to ignore it (it then waits for SIGKILL). */
  shutdown(signal: NodeJS.Signals): void {
    if (this.ignoreSigterm && this.scheduler.hung) return;
    if (this.phase === 'dying') return;
    this.phase = 'dying';
    log('APIServer', 'INFO', 'launcher.py:101', `Received ${signal}, shutting down.`);
    this.scheduler.failAll('abort');
    for (const line of shutdownLines()) process.stdout.write(`${line}\n`);
    void this.finish(0, 0);
  }

  /** Dies: prints the cause, answers every in-flight request 500, /health 503 for a moment, then exits with `code`. */
  die(lines: string[], code: number): void {
    if (this.phase === 'dying') return;
    const wasServing = this.phase === 'ready';
    this.phase = 'dying';
    const ids = [...this.inflight.keys()];
    for (const line of lines) process.stderr.write(`${line}\n`);
    if (wasServing) for (const line of engineDeadLines(this.options.version, ids)) process.stderr.write(`${line}\n`);
    this.scheduler.failAll('error');
    void this.finish(code, 300);
  }

  private checkOom(): void {
    const ramp = this.oom;
    if (!ramp || this.phase !== 'ready' || Date.now() < ramp.startedAt + ramp.rampMs + ramp.holdMs) return;
    const message = cudaOomMessage({ heldMiB: ramp.targetMiB, tryAllocateMiB: 2048, others: ramp.others, gpu: 0 });
    this.die(engineCoreFatalLines(this.options.version, `torch.OutOfMemoryError: ${message}`), 1);
  }

  private kvUsage(): number {
    return this.plan.numGpuBlocks === 0 ? 0 : Math.min(1, this.scheduler.kvBlocksInUse(this.plan.blockSize) / this.plan.numGpuBlocks);
  }

  private later(ms: number, fn: () => void): NodeJS.Timeout {
    const timer = setTimeout(fn, Math.max(0, ms));
    this.timers.push(timer);
    return timer;
  }

  private async finish(code: number, graceMs: number): Promise<void> {
    await new Promise((resolve) => setTimeout(resolve, graceMs));
    for (const t of this.timers) clearTimeout(t);
    if (this.server) await Promise.race([closeServer(this.server), new Promise((resolve) => setTimeout(resolve, 500))]);
    process.exit(code);
  }
}
