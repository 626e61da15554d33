/** The `capture: gpu` step: nvidia-smi's GPU and compute-process queries, run and parsed. */

import type { StepResult } from '../../core/run.js';
import { toError } from '../../core/errors.js';
import type { CommandRequest, CommandRunner } from '../command-runner.js';
import { gpuSummary } from './gpu-summary.js';
import {
  APPS_QUERY_ARGV,
  GPU_QUERY_ARGV,
  NvidiaSmiParseError,
  parseComputeApps,
  parseGpuQuery,
  type GpuInfo,
  type GpuProcess,
} from './nvidia-smi.js';

/** What a capture step runs with; the runner may be local or SSH. */
export interface CaptureGpuOptions {
  readonly runner: CommandRunner;
  readonly env: Readonly<Record<string, string>>;
  /** For both queries together. */
  readonly timeoutMs: number;
  readonly killGraceMs: number;
  readonly maxOutputBytes: number;
  readonly signal: AbortSignal;
  /** Called for each of the two processes, as the runner spawns it. */
  readonly onSpawn?: CommandRequest['onSpawn'];
}

/** The evidence a successful capture keeps. */
export interface GpuEvidence {
  readonly gpus: readonly GpuInfo[];
  readonly processes: readonly GpuProcess[];
}

/**
 * Runs GPU_QUERY_ARGV then APPS_QUERY_ARGV and parses them. A missing nvidia-smi, a failing
 * one and output that does not parse are step failures (NVIDIA_SMI_MISSING,
 * NVIDIA_SMI_FAILED, NVIDIA_SMI_UNPARSEABLE) that keep the command's own output.
 */
export async function runCaptureGpu(options: CaptureGpuOptions): Promise<StepResult> {
  const startedAt = Date.now();
  const gpuRun = await runQuery(GPU_QUERY_ARGV, options, options.timeoutMs);
  const gpuProblem = problemOf(gpuRun, startedAt);
  if (gpuProblem) return gpuProblem;
  const gpus = parseOutput(gpuRun, parseGpuQuery, 'query-gpu', startedAt);
  if (!Array.isArray(gpus)) return gpus;
  const appsRun = await runQuery(APPS_QUERY_ARGV, options, Math.max(1, options.timeoutMs - (Date.now() - startedAt)));
  const appsProblem = problemOf(appsRun, startedAt);
  if (appsProblem) return appsProblem;
  const processes = parseOutput(appsRun, parseComputeApps, 'query-compute-apps', startedAt);
  if (!Array.isArray(processes)) return processes;
  const evidence: GpuEvidence = { gpus, processes };
  const summary = truncate(gpuSummary(evidence.gpus, evidence.processes), options.maxOutputBytes);
  return {
    ...appsRun,
    ok: true,
    exitCode: 0,
    stdout: summary.text,
    stdoutTruncated: summary.truncated,
    stderr: [gpuRun.stderr, appsRun.stderr].filter((s) => s !== '').join(''),
    stderrTruncated: gpuRun.stderrTruncated || appsRun.stderrTruncated,
    startedAt,
    evidence,
  };
}

function runQuery(argv: readonly string[], options: CaptureGpuOptions, timeoutMs: number): Promise<StepResult> {
  return options.runner.run({
    command: { kind: 'run', argv },
    env: options.env,
    timeoutMs,
    killGraceMs: options.killGraceMs,
    maxOutputBytes: options.maxOutputBytes,
    signal: options.signal,
    onSpawn: options.onSpawn,
  });
}

/** The parsed rows, or the step's NVIDIA_SMI_UNPARSEABLE failure keeping the raw output. */
function parseOutput<T>(run: StepResult, parse: (text: string) => T[], which: string, startedAt: number): T[] | StepResult {
  const unparseable = (why: string): StepResult => ({
    ...run,
    ok: false,
    startedAt,
    error: { code: 'NVIDIA_SMI_UNPARSEABLE', message: `nvidia-smi ${which} output did not parse: ${why}` },
  });
  if (run.stdoutTruncated) return unparseable("longer than the step's maxOutputBytes");
  try {
    return parse(run.stdout);
  } catch (thrown) {
    const err = toError(thrown);
    if (err instanceof NvidiaSmiParseError) return unparseable(err.message);
    throw err;
  }
}

/** The step's failure when a query did not run or did not succeed, else null. */
function problemOf(run: StepResult, startedAt: number): StepResult | null {
  if (run.ok) return null;
  const failed = { ...run, ok: false, startedAt };
  if (run.stoppedBy !== null) return failed;
  const detail = firstLines(run.stderr.trim() || run.stdout.trim());
  if (run.error !== null) {
    if (run.error.code === 'SPAWN_FAILED' && /ENOENT/.test(run.error.message)) {
      return { ...failed, error: { code: 'NVIDIA_SMI_MISSING', message: `nvidia-smi is not installed or not on PATH (${run.error.message})` } };
    }
    return failed;
  }
  // 127 is what a remote shell (and `timeout`) answer for a command that is not there.
  if (run.exitCode === 127 || /nvidia-smi: (command not found|not found|No such file or directory)/.test(run.stderr)) {
    return { ...failed, error: { code: 'NVIDIA_SMI_MISSING', message: `nvidia-smi is not installed or not on PATH: ${detail}` } };
  }
  const how = run.exitCode === null ? `was killed by ${run.signal ?? 'a signal'}` : `exited with code ${run.exitCode}`;
  return { ...failed, error: { code: 'NVIDIA_SMI_FAILED', message: `nvidia-smi ${how}: ${detail || 'no output'}` } };
}

function firstLines(text: string): string {
  return text.length > 500 ? `${text.slice(0, 500)}...` : text;
}

function truncate(text: string, maxBytes: number): { text: string; truncated: boolean } {
  if (Buffer.byteLength(text) <= maxBytes) return { text, truncated: false };
  return { text: Buffer.from(text).subarray(0, maxBytes).toString('utf8'), truncated: true };
}
