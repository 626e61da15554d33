/** Compiles an http step's body so that templated values are escaped by the body's type and can never change its structure. */

import type { Template } from '../core/runbook.js';
import type { Compiled } from './matcher.js';
import { placeFormRefs, placeJsonRefs } from './place-refs.js';
import type { Path } from './runbook-issue.js';
import type { HttpDoc } from './runbook-schema.js';
import type { TemplateScope } from './template.js';

/** What compiling a body needs from the runbook builder. */
export interface BodyCompiler {
  template(source: string, scope: TemplateScope, path: Path): Template | null;
  error(path: Path, message: string, at?: 'key'): void;
}

/** A compiled body, and the Content-Type header to add when the runbook set none (a map or list body is JSON). */
export interface CompiledBody {
  readonly body: Template;
  readonly addContentType: string | null;
}

type BodyType = 'json' | 'form' | 'text' | 'other' | 'unknown' | 'none';

const JSON_TYPE = /^application\/(?:[a-z0-9.+-]+\+)?json$/;
const FORM_TYPE = 'application/x-www-form-urlencoded';
const KINDS_HINT = 'application/json (each {{ }} inside a JSON string), application/x-www-form-urlencoded or text/plain, or write the body as a YAML map (sent as JSON)';

/** The body's type from the step's Content-Type header: only a literal header says what the body is. */
function bodyType(headers: HttpDoc['headers']): { type: BodyType; name: string } {
  const entry = Object.entries(headers).find(([name]) => name.toLowerCase() === 'content-type');
  if (entry === undefined) return { type: 'none', name: 'Content-Type' };
  const [name, value] = entry;
  if (typeof value !== 'string' || value.includes('{{')) return { type: 'unknown', name };
  const media = (value.split(';')[0] ?? '').trim().toLowerCase();
  const type: BodyType = JSON_TYPE.test(media) ? 'json' : media === FORM_TYPE ? 'form' : media.startsWith('text/') ? 'text' : 'other';
  return { type, name };
}

function place(c: BodyCompiler, t: Template, at: Path, how: (t: Template) => Compiled<Template>): Template | null {
  const placed = how(t);
  if (placed.ok) return placed.value;
  c.error(at, placed.message);
  return null;
}

/** Checks a map or list body: string leaves are templates, keys are literal, numbers are finite. */
function checkLeaves(c: BodyCompiler, value: unknown, at: Path, scope: TemplateScope): boolean {
  if (typeof value === 'string') return c.template(value, scope, at) !== null;
  if (typeof value === 'number' && !Number.isFinite(value)) {
    c.error(at, 'a number in a JSON body must be finite');
    return false;
  }
  if (typeof value !== 'object' || value === null) return true;
  let ok = true;
  for (const [key, v] of Object.entries(value)) {
    const path = [...at, Array.isArray(value) ? Number(key) : key];
    if (key.includes('{{')) {
      c.error(path, 'keys of a body are literal: "{{" is not allowed in them', 'key');
      ok = false;
    }
    if (!checkLeaves(c, v, path, scope)) ok = false;
  }
  return ok;
}

/** A map or list body, serialised as JSON: every template sits in a string value, so every value is JSON-escaped. */
function structuredBody(c: BodyCompiler, value: object, at: Path, scope: TemplateScope, headers: HttpDoc['headers']): CompiledBody | undefined {
  const { type, name } = bodyType(headers);
  if (type !== 'json' && type !== 'none') {
    c.error(at, `a map or list body is sent as JSON, so header "${name}" must be a literal application/json (or +json) type`);
    return undefined;
  }
  if (!checkLeaves(c, value, at, scope)) return undefined;
  const t = c.template(JSON.stringify(value), scope, at);
  const body = t === null ? null : place(c, t, at, placeJsonRefs);
  return body === null ? undefined : { body, addContentType: type === 'none' ? 'application/json' : null };
}

function isValidJson(t: Template): boolean {
  try {
    // Each reference sits inside a string, so the body is JSON whatever the values are iff it is with empty ones.
    JSON.parse(t.parts.map((p) => (typeof p === 'string' ? p : '')).join(''));
    return true;
  } catch {
    return false;
  }
}

/** A body written as text: a templated one is escaped by its literal Content-Type, and refused when that says nothing escapable. */
function textBody(c: BodyCompiler, text: string, at: Path, scope: TemplateScope, headers: HttpDoc['headers']): CompiledBody | undefined {
  const t = c.template(text, scope, at);
  if (t === null) return undefined;
  const { type, name } = bodyType(headers);
  const templated = t.parts.some((p) => typeof p !== 'string');
  if (type === 'json') {
    const body = templated ? place(c, t, at, placeJsonRefs) : t;
    if (body === null) return undefined;
    if (isValidJson(body)) return { body, addContentType: null };
    c.error(at, `header "${name}" says JSON, but the body is not JSON`);
    return undefined;
  }
  if (!templated || type === 'text') return { body: t, addContentType: null };
  if (type === 'form') {
    const body = place(c, t, at, placeFormRefs);
    return body === null ? undefined : { body, addContentType: null };
  }
  const why = type === 'none' ? 'has no Content-Type header' : type === 'unknown' ? `has a header "${name}" that is not literal` : `has a Content-Type remediator cannot escape values for`;
  c.error(at, `a templated body ${why}: use ${KINDS_HINT}`);
  return undefined;
}

/** Compiles a body; undefined when it is wrong (each problem is reported). */
export function compileHttpBody(c: BodyCompiler, h: HttpDoc, at: Path, scope: TemplateScope): CompiledBody | undefined {
  const body = h.body;
  if (body === undefined) return undefined;
  if (typeof body === 'string') return textBody(c, body, at, scope, h.headers);
  return structuredBody(c, body, at, scope, h.headers);
}
