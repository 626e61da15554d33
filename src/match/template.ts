/** `{{ ... }}` templates: compiled once when a runbook loads, rendered without parsing on the hot path. */

import type { LabelSet } from '../core/alert.js';
import type { RefEscape, Template, TemplateRef } from '../core/runbook.js';
import type { Compiled } from './matcher.js';

export type RefKind = TemplateRef['kind'];

/** Where a template sits decides which references it may use. */
export interface TemplateScope {
  /** A name for messages: "target", "pool", "an argument", "PromQL text". */
  readonly where: string;
  readonly allowed: ReadonlySet<RefKind>;
  readonly params: ReadonlySet<string>;
}

/** The values a template may reference; a missing one makes rendering fail rather than print "". */
export interface RenderContext {
  readonly params: Readonly<Record<string, string>>;
  readonly target?: string;
  readonly pool?: string | null;
  readonly runId?: string;
  readonly runUrl?: string;
  readonly labels?: LabelSet;
}

const PARAM_NAME = /^[a-z][a-z0-9_]*$/;
const LABEL_NAME = /^[a-zA-Z_][a-zA-Z0-9_]*$/;
const FIXED_REFS: Readonly<Record<string, TemplateRef>> = Object.freeze({
  target: Object.freeze({ kind: 'target' }),
  pool: Object.freeze({ kind: 'pool' }),
  'run.id': Object.freeze({ kind: 'run.id' }),
  'run.url': Object.freeze({ kind: 'run.url' }),
});

function readRef(inner: string, scope: TemplateScope): Compiled<TemplateRef> {
  let ref: TemplateRef | undefined;
  if (inner.startsWith('params.') && PARAM_NAME.test(inner.slice(7))) ref = { kind: 'param', name: inner.slice(7) };
  else if (inner.startsWith('labels.') && LABEL_NAME.test(inner.slice(7))) ref = { kind: 'label', name: inner.slice(7) };
  else if (Object.hasOwn(FIXED_REFS, inner)) ref = FIXED_REFS[inner];
  if (ref === undefined) {
    return { ok: false, message: `unknown reference "{{ ${inner} }}" (known: params.NAME, target, pool, run.id, run.url, and labels.NAME in PromQL text)` };
  }
  if (!scope.allowed.has(ref.kind)) {
    const hint = ref.kind === 'label' ? '; labels reach commands only through params (labels.NAME is for PromQL text)' : '';
    return { ok: false, message: `"{{ ${inner} }}" is not allowed in ${scope.where}${hint}` };
  }
  if (ref.kind === 'param' && !scope.params.has(ref.name)) {
    const declared = [...scope.params].join(', ') || 'none';
    return { ok: false, message: `"{{ ${inner} }}" names undeclared param "${ref.name}" (declared: ${declared})` };
  }
  return { ok: true, value: Object.freeze(ref) };
}

/** Compiles template text; `{{` always opens a reference, and there is no escape. */
export function compileTemplate(source: string, scope: TemplateScope): Compiled<Template> {
  const parts: Array<string | TemplateRef> = [];
  let at = 0;
  while (at < source.length) {
    const open = source.indexOf('{{', at);
    if (open < 0) break;
    if (open > at) parts.push(source.slice(at, open));
    const close = source.indexOf('}}', open + 2);
    if (close < 0) return { ok: false, message: `unclosed "{{" at offset ${open} in ${scope.where}` };
    const ref = readRef(source.slice(open + 2, close).trim(), scope);
    if (!ref.ok) return ref;
    parts.push(ref.value);
    at = close + 2;
  }
  if (at < source.length) parts.push(source.slice(at));
  return { ok: true, value: Object.freeze({ source, parts: Object.freeze(parts) }) };
}

const PROMQL_ESCAPES: Readonly<Record<string, string>> = { '\\': '\\\\', '"': '\\"', '\n': '\\n', '\r': '\\r', '\t': '\\t' };

/** Escapes a value for a double-quoted PromQL string; other control characters become \u escapes, which PromQL reads too. */
function promqlString(value: string): string {
  return value.replace(/[\\"\p{Cc}]/gu, (c) => PROMQL_ESCAPES[c] ?? `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}

function refValue(ref: TemplateRef, ctx: RenderContext): string | undefined {
  switch (ref.kind) {
    case 'param':
      return Object.hasOwn(ctx.params, ref.name) ? ctx.params[ref.name] : undefined;
    case 'label': {
      const v: unknown = ctx.labels?.[ref.name];
      return typeof v === 'string' ? v : '';
    }
    case 'target':
      return ctx.target;
    case 'pool':
      return ctx.pool ?? undefined;
    case 'run.id':
      return ctx.runId;
    case 'run.url':
      return ctx.runUrl;
  }
}

// A host may not carry what ends or reshapes a URL's authority: path, query, fragment, user info, port.
const URL_HOST = /^[A-Za-z0-9._~%-]*$/;
// An IPv6 address (two colons at least), for `[{{ params.host }}]`; unbracketed it makes no valid URL.
const URL_IPV6 = /^[0-9A-Fa-f.%]*:[0-9A-Fa-f.%]*:[0-9A-Fa-f:.%]*$/;

/** Escapes a value for where its reference sits; a value that cannot sit there safely is an error. */
function escaped(value: string, escape: RefEscape | undefined, ref: TemplateRef): Compiled<string> {
  switch (escape ?? (ref.kind === 'label' ? 'promql' : undefined)) {
    case 'promql':
      return { ok: true, value: promqlString(value) };
    case 'json':
      return { ok: true, value: JSON.stringify(value).slice(1, -1) };
    case 'form':
    case 'url':
      if (!(value as string & { isWellFormed(): boolean }).isWellFormed()) return { ok: false, message: 'is not well-formed Unicode' };
      return { ok: true, value: encodeURIComponent(value) };
    case 'host':
      return URL_HOST.test(value) || URL_IPV6.test(value) ? { ok: true, value } : { ok: false, message: `${JSON.stringify(value.slice(0, 200))} is not a host name (in a url's host)` };
    case undefined:
      return { ok: true, value };
  }
}

function refName(ref: TemplateRef): string {
  return ref.kind === 'param' ? `params.${ref.name}` : ref.kind === 'label' ? `labels.${ref.name}` : ref.kind;
}

/** Renders a compiled template, each value escaped for where it sits; a reference with no value (an absent optional param, say) is an error, never "". */
export function renderTemplate(template: Template, ctx: RenderContext): Compiled<string> {
  const parts = template.parts;
  if (parts.length === 1 && typeof parts[0] === 'string') return { ok: true, value: parts[0] };
  let out = '';
  for (const part of parts) {
    if (typeof part === 'string') {
      out += part;
      continue;
    }
    const v = refValue(part, ctx);
    if (v === undefined) return { ok: false, message: `"{{ ${refName(part)} }}" has no value` };
    const e = escaped(v, part.escape, part);
    if (!e.ok) return { ok: false, message: `"{{ ${refName(part)} }}" ${e.message}` };
    out += e.value;
  }
  return { ok: true, value: out };
}
