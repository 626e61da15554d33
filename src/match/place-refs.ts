/** Where each `{{ }}` of a template sits in the text around it (a PromQL string, a JSON string, a URL part), and so how its value is escaped. */

import type { RefEscape, Template, TemplateRef } from '../core/runbook.js';
import type { Compiled } from './matcher.js';

function refText(ref: TemplateRef): string {
  const name = ref.kind === 'param' ? `params.${ref.name}` : ref.kind === 'label' ? `labels.${ref.name}` : ref.kind;
  return `"{{ ${name} }}"`;
}

/**
 * Scans the literal text of a template with a small lexer and gives each reference the escape
 * its position calls for, or refuses the template. A value never moves the lexer: its escape
 * keeps it inside the token it was placed in, which is what makes the position known at load.
 */
function placeRefs<S>(t: Template, start: S, step: (state: S, ch: string) => S, place: (state: S, ref: string) => Compiled<RefEscape>): Compiled<Template> {
  let state = start;
  const parts: Array<string | TemplateRef> = [];
  for (const part of t.parts) {
    if (typeof part === 'string') {
      for (const ch of part) state = step(state, ch);
      parts.push(part);
      continue;
    }
    const escape = place(state, refText(part));
    if (!escape.ok) return escape;
    parts.push(Object.freeze({ ...part, escape: escape.value }));
  }
  return { ok: true, value: Object.freeze({ source: t.source, parts: Object.freeze(parts) }) };
}

type PromqlState = 'code' | 'dq' | 'dq-escape' | 'sq' | 'sq-escape' | 'raw' | 'comment';

function promqlStep(state: PromqlState, ch: string): PromqlState {
  switch (state) {
    case 'code':
      return ch === '"' ? 'dq' : ch === "'" ? 'sq' : ch === '`' ? 'raw' : ch === '#' ? 'comment' : 'code';
    case 'dq':
      return ch === '\\' ? 'dq-escape' : ch === '"' ? 'code' : 'dq';
    case 'sq':
      return ch === '\\' ? 'sq-escape' : ch === "'" ? 'code' : 'sq';
    case 'dq-escape':
      return 'dq';
    case 'sq-escape':
      return 'sq';
    case 'raw':
      return ch === '`' ? 'code' : 'raw';
    case 'comment':
      return ch === '\n' ? 'code' : 'comment';
  }
}

/**
 * PromQL text: every reference must sit inside a double-quoted string (`instance="{{ labels.instance }}"`),
 * where its value is escaped as a PromQL string; anywhere else a value would be PromQL itself.
 */
export function placePromqlRefs(t: Template): Compiled<Template> {
  return placeRefs<PromqlState>(t, 'code', promqlStep, (state, ref) => {
    if (state === 'dq') return { ok: true, value: 'promql' };
    if (state === 'dq-escape') return { ok: false, message: `${ref} follows a backslash inside a PromQL string, which would change how its value is read` };
    return {
      ok: false,
      message: `${ref} is outside a double-quoted PromQL string; alert data may only be a string value, e.g. instance="{{ labels.instance }}"`,
    };
  });
}

type JsonState = 'code' | 'str' | 'str-escape';

function jsonStep(state: JsonState, ch: string): JsonState {
  if (state === 'code') return ch === '"' ? 'str' : 'code';
  if (state === 'str-escape') return 'str';
  return ch === '\\' ? 'str-escape' : ch === '"' ? 'code' : 'str';
}

/** A JSON body written as text: every reference must sit inside a JSON string, where its value is JSON-escaped. */
export function placeJsonRefs(t: Template): Compiled<Template> {
  return placeRefs<JsonState>(t, 'code', jsonStep, (state, ref) => {
    if (state === 'str') return { ok: true, value: 'json' };
    if (state === 'str-escape') return { ok: false, message: `${ref} follows a backslash inside a JSON string` };
    return { ok: false, message: `${ref} is outside a JSON string in a JSON body: quote it ("${ref.slice(1, -1)}"), or write the body as a YAML map` };
  });
}

type UrlState = 'scheme' | 'colon' | 'slash' | 'authority' | 'path' | 'query' | 'fragment';

function urlStep(state: UrlState, ch: string): UrlState {
  switch (state) {
    case 'scheme':
      return ch === ':' ? 'colon' : 'scheme';
    case 'colon':
      return ch === '/' ? 'slash' : 'path';
    case 'slash':
      return ch === '/' ? 'authority' : 'path';
    case 'authority':
      return ch === '/' ? 'path' : ch === '?' ? 'query' : ch === '#' ? 'fragment' : 'authority';
    case 'path':
      return ch === '?' ? 'query' : ch === '#' ? 'fragment' : 'path';
    case 'query':
      return ch === '#' ? 'fragment' : 'query';
    case 'fragment':
      return 'fragment';
  }
}

/**
 * A URL: its scheme and `//` are literal; a reference in the host is checked to be a host name
 * (no `/ ? # @ :` to reshape the URL), one in the path, query or fragment is percent-encoded.
 */
export function placeUrlRefs(t: Template): Compiled<Template> {
  return placeRefs<UrlState>(t, 'scheme', urlStep, (state, ref) => {
    if (state === 'authority') return { ok: true, value: 'host' };
    if (state === 'path' || state === 'query' || state === 'fragment') return { ok: true, value: 'url' };
    return { ok: false, message: `url must start with a literal http:// or https:// (${ref} is in its scheme)` };
  });
}

/** A form-encoded body: every value is percent-encoded, so it cannot add a field. */
export function placeFormRefs(t: Template): Compiled<Template> {
  return placeRefs<null>(t, null, () => null, () => ({ ok: true, value: 'form' }));
}
