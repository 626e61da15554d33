/** Runs one attempt of an `http` step: the request, its redirects, every hop checked against `http.allowHosts`. */

import type { HttpDef } from '../../core/runbook.js';
import type { StepResult } from '../../core/run.js';
import { toError } from '../../core/errors.js';
import { stopCauseOf } from '../command-runner.js';
import { createScrubber, type Scrubber } from '../scrub.js';
import { compileAllowHosts, type AllowHosts } from './allow-hosts.js';
import { resolveHeaders, type ReadSecret, type ResolvedHeaders } from './header-values.js';
import { followChain, type ChainEnd, type HttpHop } from './http-chain.js';

/** What an attempt needs besides the request. */
export interface HttpStepOptions {
  /** `http.allowHosts` from the config (see allow-hosts.ts for the rule). */
  readonly allowHosts: readonly string[];
  /** The whole attempt, redirects and body included. */
  readonly timeoutMs: number;
  /** Body bytes kept as stdout. */
  readonly maxOutputBytes: number;
  /** Aborting it stops the attempt at once; its reason is the StopCause recorded. */
  readonly signal: AbortSignal;
  /** Reads a header's secret file (default: the file's UTF-8 text). */
  readonly readSecret?: ReadSecret;
  /** Told the secrets read from header files, before the request is sent, so other steps' output is scrubbed of them too. */
  readonly onSecrets?: (secrets: readonly string[]) => void;
}

/** What an http step records as evidence. */
export interface HttpEvidence {
  /** The final status; null when no answer counted (refused, failed, stopped). */
  readonly status: number | null;
  readonly url: string;
  readonly hops: readonly HttpHop[];
}

/** Past this many body bytes (or 4 × maxOutputBytes, if more) the response is dropped, so an endless body cannot hold the step. */
const MIN_READ_BYTES = 1 << 20;

// Compiled once per allowHosts array (the config's is frozen and lives as long as the service).
const compiled = new WeakMap<readonly string[], AllowHosts>();

/** Runs one attempt; every failure is a result (ok false), never an exception. */
export async function runHttpStep(request: HttpDef<string>, options: HttpStepOptions): Promise<StepResult> {
  const startedAt = Date.now();
  const attempt = new AbortController();
  const onOuterAbort = (): void => attempt.abort(stopCauseOf(options.signal));
  if (options.signal.aborted) onOuterAbort();
  options.signal.addEventListener('abort', onOuterAbort, { once: true });
  const timer = setTimeout(() => attempt.abort('timeout'), Math.max(1, options.timeoutMs));
  const hops: HttpHop[] = [];
  let headers: ResolvedHeaders = { plain: {}, secret: {}, secrets: [] };
  let outcome: Outcome;
  try {
    const allow = allowHostsOf(options.allowHosts);
    headers = await resolveHeaders(request.headers, options.readSecret);
    options.onSecrets?.(headers.secrets);
    if (attempt.signal.aborted) throw new Error('aborted');
    const chain = await followChain(
      {
        method: request.method,
        url: request.url,
        headers,
        body: request.body,
        expectStatus: request.expectStatus,
        allow,
        signal: attempt.signal,
        keepBytes: options.maxOutputBytes,
        readBytes: Math.max(4 * options.maxOutputBytes, MIN_READ_BYTES),
      },
      hops,
    );
    outcome = { url: chain.url, end: chain.end };
  } catch (err) {
    outcome = failureOutcome(err, request.url, hops, attempt.signal);
  } finally {
    clearTimeout(timer);
    options.signal.removeEventListener('abort', onOuterAbort);
  }
  return buildResult(request, outcome, hops, startedAt, createScrubber(headers.secrets));
}

/** True for a failed attempt worth repeating under `until` (a network error, say while a server restarts); refusals never are. */
export function isTransientHttpFailure(result: StepResult): boolean {
  return !result.ok && result.error?.code === 'HTTP_ERROR' && result.stoppedBy === null;
}

interface Outcome {
  readonly url: string;
  readonly end:
    | ChainEnd
    | { readonly kind: 'stopped'; readonly cause: StepResult['stoppedBy'] }
    | { readonly kind: 'config'; readonly message: string };
}

function allowHostsOf(entries: readonly string[]): AllowHosts {
  let allow = compiled.get(entries);
  if (allow === undefined) {
    allow = compileAllowHosts(entries);
    compiled.set(entries, allow);
  }
  return allow;
}

function failureOutcome(thrown: unknown, url: string, hops: readonly HttpHop[], signal: AbortSignal): Outcome {
  const last = hops.at(-1)?.url ?? url;
  if (signal.aborted) return { url: last, end: { kind: 'stopped', cause: stopCauseOf(signal) } };
  const err = toError(thrown);
  if ('code' in err && err.code === 'CONFIG_INVALID') return { url, end: { kind: 'config', message: err.message } };
  return { url: last, end: { kind: 'error', message: err.message } };
}

function buildResult(
  request: HttpDef<string>,
  outcome: Outcome,
  hops: readonly HttpHop[],
  startedAt: number,
  scrub: Scrubber,
): StepResult {
  const { end } = outcome;
  const status = end.kind === 'response' ? end.status : null;
  const ok = status !== null && (request.expectStatus === null ? status >= 200 && status < 300 : request.expectStatus.includes(status));
  const scrubbedHops = hops.map((hop) => scrubHop(hop, scrub));
  const evidence: HttpEvidence = { status, url: scrub(outcome.url), hops: scrubbedHops };
  return {
    ok,
    exitCode: null,
    signal: null,
    timedOut: end.kind === 'stopped' && end.cause === 'timeout',
    stoppedBy: end.kind === 'stopped' ? end.cause : null,
    stdout: end.kind === 'response' ? scrub(end.body.toString('utf8'), end.truncated) : '',
    stderr: scrubbedHops.map(hopLine).join(''),
    stdoutTruncated: end.kind === 'response' && end.truncated,
    stderrTruncated: false,
    startedAt,
    endedAt: Date.now(),
    error: errorOf(end, scrub),
    evidence,
    host: evidence.url,
  };
}

function errorOf(end: Outcome['end'], scrub: (text: string) => string): StepResult['error'] {
  if (end.kind === 'refused') return { code: 'HTTP_HOST_NOT_ALLOWED', message: scrub(end.message) };
  if (end.kind === 'bad_url') return { code: 'HTTP_BAD_URL', message: scrub(end.message) };
  if (end.kind === 'error') return { code: 'HTTP_ERROR', message: scrub(end.message) };
  if (end.kind === 'config') return { code: 'CONFIG_INVALID', message: end.message };
  return null;
}

function scrubHop(hop: HttpHop, scrub: (text: string) => string): HttpHop {
  return {
    ...hop,
    url: scrub(hop.url),
    ...(hop.refused === undefined ? {} : { refused: scrub(hop.refused) }),
    ...(hop.error === undefined ? {} : { error: scrub(hop.error) }),
  };
}

function hopLine(hop: HttpHop): string {
  if (hop.status !== undefined) return `${hop.method} ${hop.url} -> ${hop.status}\n`;
  if (hop.refused !== undefined) return `${hop.method} ${hop.url} -> refused: ${hop.refused}\n`;
  return `${hop.method} ${hop.url} -> error: ${hop.error ?? ''}\n`;
}
