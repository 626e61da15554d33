/** The faults of the README's table: what POST /faults accepts, and what each one tells an engine to do. */
import { z } from 'zod';
import type { EngineDirective, FaultView } from './api-types.js';
import { engineCoreFatalLines, startupFailureLines } from './engine-death.js';
import { cudaErrorFor } from './xid.js';

const host = z.string().min(1);
const model = z.string().min(1);

/** POST /faults bodies, one shape per kind; unknown fields are refused (they are typos). */
export const faultSchema = z.discriminatedUnion('kind', [
  z.strictObject({
    kind: z.literal('oom'),
    host,
    model,
    recurring: z.boolean().default(false),
    // a recurring crash stops once GPU_MEMORY_UTILIZATION is at or under this; 0: nothing cures it
    fixedAtOrBelow: z.number().min(0).max(1).default(0.85),
    rampSeconds: z.number().min(0).default(10),
    holdSeconds: z.number().min(0).default(0),
  }),
  z.strictObject({ kind: z.literal('backlog'), model, rate: z.number().positive(), seconds: z.number().positive() }),
  z.strictObject({ kind: z.literal('hung'), host, model, ignoreSigterm: z.boolean().default(false) }),
  z.strictObject({ kind: z.literal('down'), host, model, failStarts: z.boolean().default(false) }),
  z.strictObject({ kind: z.literal('crash-loop'), host, model, serveSeconds: z.number().min(0).default(2) }),
  z.strictObject({ kind: z.literal('xid'), host, gpu: z.number().int().min(0), code: z.number().int().min(1).max(200), resetFixes: z.boolean().default(true), model: model.optional() }),
  z.strictObject({ kind: z.literal('version-skew'), host, model, version: z.string().regex(/^[0-9][0-9A-Za-z.+-]{0,63}$/) }),
]);

/** A parsed fault. */
export type FaultSpec = z.infer<typeof faultSchema>;

/** An injected fault with what the supervisor learnt when injecting it. */
export type FaultRecord = FaultSpec & {
  readonly id: string;
  readonly injectedAt: string;
  /** The engine a one-shot fault acts on: the one running at injection, else the next to start. */
  targetPid?: number;
  /** Engines an Xid killed at injection. */
  killPids?: readonly number[];
};

/** What the directive needs to know about the engine asking. */
export interface EngineContext {
  readonly host: string;
  readonly model: string;
  readonly pid: number;
  readonly version: string;
  readonly gpuMemoryUtilization: number;
  /** Why this engine cannot use its GPU (a bad CUDA_VISIBLE_DEVICES, a hardware Xid), or null. */
  readonly gpuProblem: string | null;
  /** Where an OOM ramp ends and who else holds the GPU. */
  readonly oomTarget: () => { targetMiB: number; pidsOnGpu: { pid: number; usedMiB: number }[] };
  /** A lone engine: the fault's one-shot target is this engine. */
  readonly isFirstSeen: (fault: FaultRecord) => boolean;
}

const NO_FAULT: EngineDirective = { hung: false, ignoreSigterm: false, oom: null, crashAfterReadySeconds: null, exit: null };

const SEGFAULT = ['Fatal Python error: Segmentation fault', '', 'Current thread 0x00007f3a2c7fe640 (most recent call first):'];

/** True while a one-shot fault still has its engine to act on. */
export function isOneShot(f: FaultRecord): boolean {
  return f.kind === 'hung' || (f.kind === 'down' && !f.failStarts) || (f.kind === 'oom' && !f.recurring);
}

/** The directive for one engine from the active faults. */
export function directiveFor(ctx: EngineContext, faults: readonly FaultRecord[]): EngineDirective {
  if (ctx.gpuProblem !== null) return { ...NO_FAULT, exit: { afterMs: 500, code: 1, lines: startupFailureLines(ctx.version, ctx.gpuProblem, ctx.pid) } };
  let d: EngineDirective = NO_FAULT;
  for (const f of faults) {
    if (f.kind === 'xid' && f.killPids?.includes(ctx.pid)) {
      const text = `torch.AcceleratorError: ${cudaErrorFor(f.code)}\nCUDA kernel errors might be asynchronously reported at some other API call, so the stacktrace below might be incorrect.`;
      return { ...NO_FAULT, exit: { afterMs: 0, code: 1, lines: engineCoreFatalLines(ctx.version, text, new Date(), ctx.pid) } };
    }
    if (f.kind === 'xid' || f.kind === 'backlog' || f.kind === 'version-skew' || f.host !== ctx.host || f.model !== ctx.model) continue;
    const isTarget = ctx.isFirstSeen(f);
    if (f.kind === 'down') {
      if (isTarget) return { ...NO_FAULT, exit: { afterMs: 0, code: 1, lines: SEGFAULT } };
      if (f.failStarts) return { ...NO_FAULT, exit: { afterMs: 600, code: 1, lines: startupFailureLines(ctx.version, 'RuntimeError: CUDA error: unknown error', ctx.pid) } };
    } else if (f.kind === 'hung' && isTarget) d = { ...d, hung: true, ignoreSigterm: f.ignoreSigterm };
    else if (f.kind === 'crash-loop') d = { ...d, crashAfterReadySeconds: f.serveSeconds };
    else if (f.kind === 'oom' && (isTarget || (f.recurring && ctx.gpuMemoryUtilization > f.fixedAtOrBelow))) {
      d = { ...d, oom: { rampSeconds: f.rampSeconds, holdSeconds: f.holdSeconds, ...ctx.oomTarget() } };
    }
  }
  return d;
}

/** The fault as GET /state shows it. */
export function faultView(f: FaultRecord, spent: boolean): FaultView {
  const { targetPid, killPids, ...rest } = f;
  return { ...rest, ...(targetPid === undefined ? {} : { targetPid }), ...(killPids === undefined ? {} : { killPids }), spent };
}
