/** Compiles a validated runbook document into the frozen `Runbook` that matching, guards and execution read. */

import { parseDuration } from '../core/duration.js';
import type { Matcher, ParamSpec, Runbook, StepDef, Template, TierDef } from '../core/runbook.js';
import { compileAnchoredRegex, parseMatcher } from './matcher.js';
import type { Path, PathIssue } from './runbook-issue.js';
import type { RunbookDoc, StepDoc, TierDoc } from './runbook-schema.js';
import { compileTemplate, type RefKind, type TemplateScope } from './template.js';

const DEFAULT_STEP_TIMEOUT_MS = 60_000;

/** What compiling produced: a runbook only when there were no errors. */
export interface BuildResult {
  readonly runbook: Runbook | null;
  readonly errors: PathIssue[];
  readonly warnings: PathIssue[];
}

/** Deep-freezes plain data; regexes stay unfrozen because exec writes lastIndex. */
function deepFreeze<T>(value: T): T {
  if (typeof value !== 'object' || value === null || value instanceof RegExp || Object.isFrozen(value)) return value;
  for (const v of Object.values(value)) deepFreeze(v);
  return Object.freeze(value);
}

function ms(text: string): number {
  return parseDuration(text) ?? 0;
}

class Builder {
  readonly errors: PathIssue[] = [];
  readonly warnings: PathIssue[] = [];
  private readonly params: ReadonlySet<string>;

  constructor(private readonly doc: RunbookDoc) {
    this.params = new Set(Object.keys(doc.params));
  }

  scope(where: string, kinds: readonly RefKind[]): TemplateScope {
    return { where, allowed: new Set(kinds), params: this.params };
  }

  template(source: string, scope: TemplateScope, path: Path): Template | null {
    const t = compileTemplate(source, scope);
    if (t.ok) return t.value;
    this.errors.push({ path, message: t.message });
    return null;
  }

  matchers(): Matcher[] {
    const out: Matcher[] = [];
    this.doc.match.forEach((text, i) => {
      const m = parseMatcher(text);
      if (m.ok) out.push(m.value);
      else this.errors.push({ path: ['match', i], message: m.message });
    });
    return out;
  }

  paramSpecs(): ParamSpec[] {
    const out: ParamSpec[] = [];
    for (const [name, p] of Object.entries(this.doc.params)) {
      const re = compileAnchoredRegex(p.pattern);
      if (!re.ok) {
        this.errors.push({ path: ['params', name, 'pattern'], message: re.message });
        continue;
      }
      const [source, ...key] = p.from.split('.');
      out.push({
        name,
        source: source === 'annotations' ? 'annotations' : 'labels',
        key: key.join('.'),
        pattern: re.value,
        transform: p.transform ?? null,
        optional: p.optional,
        allowLeadingDash: p.allowLeadingDash,
      });
    }
    return out;
  }

  step(s: StepDoc, path: Path, argScope: TemplateScope): StepDef | null {
    const common = {
      name: s.name,
      timeoutMs: s.timeout === undefined ? DEFAULT_STEP_TIMEOUT_MS : ms(s.timeout),
      until: s.until ? { everyMs: ms(s.until.every), withinMs: ms(s.until.within) } : null,
      continueOnError: s.continueOnError,
      idempotent: s.idempotent,
    };
    if (s.script !== undefined) return { ...common, kind: 'script', script: s.script };
    if (s.wait !== undefined) return { ...common, kind: 'wait', waitMs: ms(s.wait), timeoutMs: ms(s.wait) };
    if (s.run === undefined) return null;
    const [program = '', ...rest] = s.run;
    if (program.includes('{{')) this.errors.push({ path: [...path, 'run', 0], message: 'the program (run[0]) is never templated: "{{" is not allowed in it' });
    else if (program.trim() === '') this.errors.push({ path: [...path, 'run', 0], message: 'the program (run[0]) is empty' });
    const args = rest.map((a, i) => this.template(a, argScope, [...path, 'run', i + 1]));
    if (this.doc.pool === undefined) {
      args.forEach((a, i) => {
        if (a?.parts.some((p) => typeof p !== 'string' && p.kind === 'pool')) {
          this.errors.push({ path: [...path, 'run', i + 1], message: '"{{ pool }}" is used but this runbook has no pool' });
        }
      });
    }
    if (args.some((a) => a === null)) return null;
    return { ...common, kind: 'run', program, args: args as Template[] };
  }

  steps(list: readonly StepDoc[], path: Path, names: Set<string>, argScope: TemplateScope): StepDef[] {
    const out: StepDef[] = [];
    list.forEach((s, i) => {
      if (names.has(s.name)) this.errors.push({ path: [...path, i, 'name'], message: `step name "${s.name}" is used twice in this tier` });
      names.add(s.name);
      const built = this.step(s, [...path, i], argScope);
      if (built) out.push(built);
    });
    return out;
  }

  tier(t: TierDoc, i: number, argScope: TemplateScope): TierDef {
    const names = new Set<string>();
    if (t.verify === undefined) {
      this.warnings.push({ path: ['tiers', i], message: `tier "${t.name}" has no verify: it succeeds when its steps do, and is recorded as verified: false` });
    }
    const steps = this.steps(t.steps, ['tiers', i, 'steps'], names, argScope);
    const onFailure = this.steps(t.onFailure, ['tiers', i, 'onFailure'], names, argScope);
    return { name: t.name, steps, onFailure };
  }

  tiers(argScope: TemplateScope): TierDef[] {
    const seen = new Set<string>();
    return this.doc.tiers.map((t, i) => {
      if (seen.has(t.name)) this.errors.push({ path: ['tiers', i, 'name'], message: `tier name "${t.name}" is used twice` });
      seen.add(t.name);
      return this.tier(t, i, argScope);
    });
  }
}

/** Builds the runbook; `file` and `hash` are recorded on it as given. */
export function buildRunbook(doc: RunbookDoc, file: string, hash: string): BuildResult {
  const b = new Builder(doc);
  const matchers = b.matchers();
  const params = b.paramSpecs();
  const target = b.template(doc.target, b.scope('target (it may use only params)', ['param']), ['target']);
  const pool = doc.pool === undefined ? null : b.template(doc.pool, b.scope('pool (it may use params and target)', ['param', 'target']), ['pool']);
  const tiers = b.tiers(b.scope('a run argument', ['param', 'target', 'pool', 'run.id', 'run.url']));
  if (b.errors.length > 0 || target === null) return { runbook: null, errors: b.errors, warnings: b.warnings };
  const runbook: Runbook = {
    name: doc.name,
    faultClass: doc.faultClass,
    description: doc.description,
    file,
    hash,
    matchers,
    params,
    target,
    pool,
    cancelOnResolve: doc.cancelOnResolve,
    mode: doc.mode,
    safety: {
      cooldownMs: ms(doc.safety.cooldown),
      maxAttempts: { count: doc.safety.maxAttempts.count, perMs: ms(doc.safety.maxAttempts.per) },
      maxPendingAgeMs: ms(doc.safety.maxPendingAge),
    },
    tiers,
  };
  return { runbook: deepFreeze(runbook), errors: b.errors, warnings: b.warnings };
}
