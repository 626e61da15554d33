/** Compiles one step of a runbook: its kind, its templates, and the SSH settings it inherits. */

import path from 'node:path';
import { parseDuration } from '../core/duration.js';
import type { HeaderValue, HttpDef, SshSettings, StepDef, StepKind, Template } from '../core/runbook.js';
import { compileHttpBody } from './http-body.js';
import type { Compiled } from './matcher.js';
import { placePromqlRefs, placeUrlRefs } from './place-refs.js';
import type { Path } from './runbook-issue.js';
import type { HttpDoc, SshDoc, StepDoc } from './runbook-schema.js';
import type { RefKind, TemplateScope } from './template.js';

const DEFAULT_STEP_TIMEOUT_MS = 60_000;
/** Framing and routing headers are the HTTP client's to set; a runbook setting them could smuggle a second request. */
const RESERVED_HEADERS = new Set(['host', 'content-length', 'transfer-encoding', 'connection', 'keep-alive', 'upgrade', 'te', 'trailer', 'expect']);
const LINE_BREAK = /[\r\n\0]/;
const SCHEME = /^[A-Za-z][A-Za-z0-9+.-]*:/;

/** What compiling a step needs from the runbook builder. */
export interface StepCompiler {
  template(source: string, scope: TemplateScope, path: Path): Template | null;
  scope(where: string, kinds: readonly RefKind[]): TemplateScope;
  error(path: Path, message: string, at?: 'key'): void;
}

/** One level's `ssh` (runbook, tier or step), host compiled; a key absent here is inherited. */
export interface SshLevel {
  readonly host?: Template;
  readonly port?: number;
  readonly user?: string;
}

/** Where PromQL text (a promql step, a precheck) may look: labels too, escaped as PromQL strings. */
export const PROMQL_REFS: readonly RefKind[] = ['param', 'label', 'target', 'pool'];
/** How messages name PromQL text. */
export const PROMQL_WHERE = 'PromQL text (it may use params, target, pool and labels)';

/** Places a compiled template's references (see place-refs.ts); null, reported, when one sits where no escape makes it safe. */
function placed(c: StepCompiler, t: Template | null, place: (t: Template) => Compiled<Template>, at: Path): Template | null {
  if (t === null) return null;
  const p = place(t);
  if (p.ok) return p.value;
  c.error(at, p.message);
  return null;
}

/** Compiles PromQL text (a promql step, a verify query, a precheck): every reference inside a double-quoted string. */
export function compilePromql(c: StepCompiler, source: string, at: Path): Template | null {
  return placed(c, c.template(source, c.scope(PROMQL_WHERE, PROMQL_REFS), at), placePromqlRefs, at);
}

const REMOTE_KINDS: ReadonlySet<StepKind> = new Set(['run', 'script', 'capture']);

function ms(text: string): number {
  return parseDuration(text) ?? 0;
}

/** Compiles one level's `ssh`; null when the level names none, undefined when its host template is bad. */
export function compileSshLevel(c: StepCompiler, doc: SshDoc | undefined, at: Path): SshLevel | null | undefined {
  if (doc === undefined) return null;
  let host: Template | undefined;
  if (doc.host !== undefined) {
    const t = c.template(doc.host, c.scope('an ssh host (it may use params, target and pool)', ['param', 'target', 'pool']), [...at, 'host']);
    if (t === null) return undefined;
    host = t;
  }
  return { ...(host && { host }), ...(doc.port !== undefined && { port: doc.port }), ...(doc.user !== undefined && { user: doc.user }) };
}

/** Merges levels outermost first, so the step's own keys win; null when no level names ssh (the step runs locally). */
export function mergeSsh(levels: ReadonlyArray<SshLevel | null>): SshSettings<Template | null> | null {
  const named = levels.filter((l): l is SshLevel => l !== null);
  if (named.length === 0) return null;
  const merged: { host: Template | null; port?: number; user?: string } = { host: null };
  for (const l of named) {
    if (l.host !== undefined) merged.host = l.host;
    if (l.port !== undefined) merged.port = l.port;
    if (l.user !== undefined) merged.user = l.user;
  }
  return merged;
}

function kindOf(s: StepDoc): StepKind {
  if (s.script !== undefined) return 'script';
  if (s.wait !== undefined) return 'wait';
  if (s.http !== undefined) return 'http';
  if (s.promql !== undefined) return 'promql';
  if (s.capture !== undefined) return 'capture';
  return 'run';
}

/** Checks that a literal start of a URL can still become http:// or https://; the rest is checked when it renders. */
function literalSchemeProblem(t: Template): string | null {
  const first = t.parts[0];
  if (typeof first !== 'string') return null;
  const lower = first.toLowerCase();
  if (/^https?:\/\//.test(lower) || 'http://'.startsWith(lower) || 'https://'.startsWith(lower)) return null;
  const scheme = SCHEME.exec(first)?.[0];
  return `url must start with http:// or https://${scheme ? ` (not "${scheme}")` : ''}`;
}

type HeaderDoc = HttpDoc['headers'][string];

function header(c: StepCompiler, name: string, value: HeaderDoc, at: Path, scope: TemplateScope): HeaderValue<Template> | null {
  if (typeof value === 'string') {
    if (!LINE_BREAK.test(value)) return c.template(value, scope, at);
    c.error(at, `header "${name}" contains a line break or NUL`);
    return null;
  }
  if (!path.isAbsolute(value.file) || value.file.includes('{{')) {
    c.error([...at, 'file'], 'a header file is an absolute path, never templated');
    return null;
  }
  if (value.prefix === undefined) return { file: value.file };
  if (!LINE_BREAK.test(value.prefix) && !value.prefix.includes('{{')) return { file: value.file, prefix: value.prefix };
  c.error([...at, 'prefix'], 'a header prefix is literal text without line breaks or "{{"');
  return null;
}

function headers(c: StepCompiler, doc: HttpDoc['headers'], at: Path, scope: TemplateScope): Record<string, HeaderValue<Template>> | null {
  const out: Array<[string, HeaderValue<Template>]> = [];
  const seen = new Set<string>();
  let ok = true;
  for (const [name, value] of Object.entries(doc)) {
    const lower = name.toLowerCase();
    let problem: string | null = null;
    if (RESERVED_HEADERS.has(lower)) problem = `header "${name}" is set by the HTTP client, not by a runbook`;
    else if (seen.has(lower)) problem = `header "${name}" is given twice (names are case-insensitive)`;
    seen.add(lower);
    if (problem !== null) c.error([...at, name], problem, 'key');
    const v = header(c, name, value, [...at, name], scope);
    if (v === null || problem !== null) ok = false;
    else out.push([name, v]);
  }
  // fromEntries, not assignment, so that a header named __proto__ stays a header.
  return ok ? Object.fromEntries(out) : null;
}

/** The body template (and a Content-Type to add), null for none, undefined when it is wrong. */
function body(c: StepCompiler, h: HttpDoc, at: Path, scope: TemplateScope): { body: Template; addContentType: string | null } | null | undefined {
  if (h.body === undefined) return null;
  const compiled = compileHttpBody(c, h, at, scope);
  if (h.method !== 'GET' && h.method !== 'HEAD') return compiled;
  c.error(at, `a ${h.method} request has no body`, 'key');
  return undefined;
}

/** Compiles an http step's request; null when anything in it is wrong (each problem is reported). */
export function compileHttp(c: StepCompiler, h: HttpDoc, at: Path): HttpDef<Template> | null {
  const scope = c.scope('an http request (it may use params, target, pool, run.id and run.url)', ['param', 'target', 'pool', 'run.id', 'run.url']);
  const raw = c.template(h.url, scope, [...at, 'url']);
  const problem = raw === null ? null : literalSchemeProblem(raw);
  if (problem !== null) c.error([...at, 'url'], problem);
  const url = problem === null ? placed(c, raw, placeUrlRefs, [...at, 'url']) : null;
  const hs = headers(c, h.headers, [...at, 'headers'], scope);
  const b = body(c, h, [...at, 'body'], scope);
  if (url === null || hs === null || b === undefined) return null;
  const withType = b?.addContentType ? { ...hs, 'Content-Type': { source: b.addContentType, parts: [b.addContentType] } } : hs;
  return { method: h.method, url, headers: withType, body: b?.body ?? null, expectStatus: h.expectStatus ? [...h.expectStatus] : null };
}

/** Compiles one step; `inherited` is the runbook's and the tier's ssh, outermost first. */
export function compileStep(c: StepCompiler, s: StepDoc, at: Path, inherited: ReadonlyArray<SshLevel | null>): StepDef | null {
  const kind = kindOf(s);
  const common = {
    name: s.name,
    kind,
    timeoutMs: s.timeout === undefined ? DEFAULT_STEP_TIMEOUT_MS : ms(s.timeout),
    until: s.until ? { everyMs: ms(s.until.every), withinMs: ms(s.until.within) } : null,
    continueOnError: s.continueOnError,
    idempotent: s.idempotent,
  };
  if (!REMOTE_KINDS.has(kind)) {
    if (s.ssh !== undefined) c.error([...at, 'ssh'], `ssh applies to run, script and capture steps; ${kind === 'http' ? 'an' : 'a'} ${kind} step runs in remediator itself`, 'key');
    if (kind === 'wait') return { ...common, waitMs: ms(s.wait ?? '0s'), timeoutMs: ms(s.wait ?? '0s') };
    if (kind === 'http') {
      const http = s.http && compileHttp(c, s.http, [...at, 'http']);
      return http ? { ...common, http } : null;
    }
    const promql = compilePromql(c, s.promql ?? '', [...at, 'promql']);
    return promql ? { ...common, promql } : null;
  }
  const own = compileSshLevel(c, s.ssh, [...at, 'ssh']);
  if (own === undefined) return null;
  const ssh = mergeSsh([...inherited, own]);
  if (kind === 'script') return { ...common, script: s.script ?? '', ssh };
  if (kind === 'capture') return { ...common, capture: s.capture ?? 'gpu', ssh };
  return compileRun(c, s.run ?? [], at, common, ssh);
}

function compileRun(c: StepCompiler, run: readonly string[], at: Path, common: Omit<StepDef, 'ssh'>, ssh: StepDef['ssh']): StepDef | null {
  const [program = '', ...rest] = run;
  if (program.includes('{{')) c.error([...at, 'run', 0], 'the program (run[0]) is never templated: "{{" is not allowed in it');
  else if (program.trim() === '') c.error([...at, 'run', 0], 'the program (run[0]) is empty');
  const scope = c.scope('a run argument', ['param', 'target', 'pool', 'run.id', 'run.url']);
  const args = rest.map((a, i) => c.template(a, scope, [...at, 'run', i + 1]));
  if (args.some((a) => a === null) || program.includes('{{') || program.trim() === '') return null;
  return { ...common, program, args: args as Template[], ssh };
}
