/** Alertmanager matchers (`name OP "value"`) and the fully anchored RE2 regexes they and params use. */

import { RE2JS } from 're2js';
import type { LabelSet } from '../core/alert.js';
import type { Matcher, MatcherOp, Pattern } from '../core/runbook.js';

/** A compile result: the value, or why it could not be built. */
export type Compiled<T> = { readonly ok: true; readonly value: T } | { readonly ok: false; readonly message: string };

const LABEL_NAME = /^[a-zA-Z_][a-zA-Z0-9_]*$/;
const MATCHER_SYNTAX = /^\s*([^\s=!~"]+)\s*(=~|!~|!=|=)\s*(.*?)\s*$/su;

// RE2 cannot express these; saying which construct it is beats the parser's bare "invalid escape".
const UNSUPPORTED: ReadonlyArray<[RegExp, string]> = [
  [/\(\?<?[=!]/, 'lookahead and lookbehind are not in RE2'],
  [/\\[1-9]|\\k</, 'backreferences are not in RE2'],
];

function re2Reason(source: string, err: unknown): string {
  const reason = err instanceof Error ? err.message : String(err);
  const hint = UNSUPPORTED.find(([re]) => re.test(source))?.[1];
  return hint === undefined ? reason : `${hint} (${reason})`;
}

/**
 * Compiles `source` as an RE2 regex matched against the whole value, as Alertmanager anchors its
 * regexes (`^(?:source)$`). RE2 runs in time linear in the input, so no pattern and no label
 * value can stall the service; what RE2 cannot express (backreferences, lookaround) is refused.
 */
export function compileAnchoredRegex(source: string): Compiled<Pattern> {
  let re: RE2JS;
  try {
    // Compiling the bare source first refuses text such as `a)|(b` that would escape the anchoring group.
    RE2JS.compile(source);
    re = RE2JS.compile(`^(?:${source})$`);
  } catch (err) {
    return { ok: false, message: `invalid regex ${JSON.stringify(source)}: ${re2Reason(source, err)}` };
  }
  // The compiled regex stays in the closure, so freezing the runbook does not freeze its matcher state.
  return { ok: true, value: Object.freeze({ source, test: (value: string) => re.matches(value) }) };
}

/** Reads a matcher value: double-quoted with JSON escapes (as Go's strconv.Unquote reads them), or bare. */
function readValue(raw: string): Compiled<string> {
  if (raw.startsWith('"')) {
    try {
      const value: unknown = JSON.parse(raw);
      if (typeof value === 'string') return { ok: true, value };
    } catch {
      // reported below with the text as written
    }
    return { ok: false, message: `bad quoted value ${raw} (use JSON escapes, e.g. "\\\\." for a literal dot)` };
  }
  if (raw.includes('"')) return { ok: false, message: `unquoted value ${raw} contains a double quote` };
  return { ok: true, value: raw };
}

function labelOf(labels: LabelSet, name: string): string {
  const v: unknown = labels[name];
  return typeof v === 'string' ? v : '';
}

/** Builds a matcher; the test reads a missing label as "" as Alertmanager does. */
function makeMatcher(name: string, op: MatcherOp, value: string, re: Pattern | null): Matcher {
  let matches: (labels: LabelSet) => boolean;
  if (op === '=') matches = (labels) => labelOf(labels, name) === value;
  else if (op === '!=') matches = (labels) => labelOf(labels, name) !== value;
  else if (op === '=~') matches = (labels) => (re as Pattern).test(labelOf(labels, name));
  else matches = (labels) => !(re as Pattern).test(labelOf(labels, name));
  return Object.freeze({ name, op, value, matches });
}

/** Parses one matcher string of a runbook's `match` list. */
export function parseMatcher(text: string): Compiled<Matcher> {
  const m = MATCHER_SYNTAX.exec(text);
  if (!m) return { ok: false, message: `bad matcher ${JSON.stringify(text)}: expected name OP "value" with OP one of =, !=, =~, !~` };
  const [, name = '', op = '=', raw = ''] = m;
  if (!LABEL_NAME.test(name)) return { ok: false, message: `bad matcher ${JSON.stringify(text)}: ${JSON.stringify(name)} is not a label name` };
  const value = readValue(raw);
  if (!value.ok) return { ok: false, message: `bad matcher ${JSON.stringify(text)}: ${value.message}` };
  const matcherOp = op as MatcherOp;
  if (matcherOp === '=' || matcherOp === '!=') return { ok: true, value: makeMatcher(name, matcherOp, value.value, null) };
  const re = compileAnchoredRegex(value.value);
  if (!re.ok) return { ok: false, message: `bad matcher ${JSON.stringify(text)}: ${re.message}` };
  return { ok: true, value: makeMatcher(name, matcherOp, value.value, re.value) };
}
