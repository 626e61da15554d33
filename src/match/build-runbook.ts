/** Compiles a validated runbook document into the frozen `Runbook` that matching, guards and execution read. */

import { parseDuration } from '../core/duration.js';
import type { Matcher, ParamSpec, Runbook, StepDef, Template, TierDef, VerifyDef } from '../core/runbook.js';
import { compilePromql, compileSshLevel, compileStep, type SshLevel, type StepCompiler } from './build-step.js';
import { compileAnchoredRegex, parseMatcher } from './matcher.js';
import type { Path, PathIssue } from './runbook-issue.js';
import type { RunbookDoc, StepDoc, TierDoc } from './runbook-schema.js';
import { compileTemplate, type RefKind, type TemplateScope } from './template.js';

/** What compiling produced: a runbook only when there were no errors. */
export interface BuildResult {
  readonly runbook: Runbook | null;
  readonly errors: PathIssue[];
  readonly warnings: PathIssue[];
}

/** Deep-freezes plain data (compiled patterns keep their regex in a closure, out of reach). */
function deepFreeze<T>(value: T): T {
  if (typeof value !== 'object' || value === null || Object.isFrozen(value)) return value;
  for (const v of Object.values(value)) deepFreeze(v);
  return Object.freeze(value);
}

const DEFAULT_APPROVAL_TIMEOUT = '30m';

function ms(text: string): number {
  return parseDuration(text) ?? 0;
}

class Builder implements StepCompiler {
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
    if (!t.ok) {
      this.errors.push({ path, message: t.message });
      return null;
    }
    if (this.doc.pool === undefined && t.value.parts.some((p) => typeof p !== 'string' && p.kind === 'pool')) {
      this.errors.push({ path, message: '"{{ pool }}" is used but this runbook has no pool' });
      return null;
    }
    return t.value;
  }

  error(path: Path, message: string, at?: 'key'): void {
    this.errors.push(at ? { path, message, at } : { path, message });
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

  steps(list: readonly StepDoc[], path: Path, names: Set<string>, inherited: ReadonlyArray<SshLevel | null>): StepDef[] {
    const out: StepDef[] = [];
    list.forEach((s, i) => {
      if (names.has(s.name)) this.errors.push({ path: [...path, i, 'name'], message: `step name "${s.name}" is used twice in this tier` });
      names.add(s.name);
      const built = compileStep(this, s, [...path, i], inherited);
      if (built) out.push(built);
    });
    return out;
  }

  tier(t: TierDoc, i: number, runbookSsh: SshLevel | null | undefined): TierDef {
    const names = new Set<string>();
    if (t.verify === undefined) {
      this.warnings.push({ path: ['tiers', i], message: `tier "${t.name}" has no verify: it succeeds when its steps do, and is recorded as verified: false` });
    }
    const tierSsh = compileSshLevel(this, t.ssh, ['tiers', i, 'ssh']);
    // A bad host template is reported once, where it is written; its steps still compile to surface their own errors.
    const inherited = [runbookSsh ?? null, tierSsh ?? null];
    const steps = this.steps(t.steps, ['tiers', i, 'steps'], names, inherited);
    const onFailure = this.steps(t.onFailure, ['tiers', i, 'onFailure'], names, inherited);
    return { name: t.name, steps, onFailure, verify: this.verify(t.verify, i), approvalTimeoutMs: this.approval(t, i) };
  }

  verify(v: TierDoc['verify'], i: number): VerifyDef<Template> | null {
    if (v === undefined) return null;
    const everyMs = ms(v.every);
    const timing = { everyMs, withinMs: ms(v.within), stableForMs: v.stableFor === undefined ? 2 * everyMs : ms(v.stableFor) };
    if (v.promql === undefined) return { kind: 'alertResolved', ...timing };
    const query = compilePromql(this, v.promql, ['tiers', i, 'verify', 'promql']);
    return query === null ? null : { kind: 'promql', query, ...timing };
  }

  approval(t: TierDoc, i: number): number | null {
    if (t.approval === 'required') return ms(t.approvalTimeout ?? DEFAULT_APPROVAL_TIMEOUT);
    if (t.approvalTimeout !== undefined) {
      this.error(['tiers', i, 'approvalTimeout'], 'approvalTimeout needs approval: required on the same tier', 'key');
    }
    return null;
  }

  tiers(): TierDef[] {
    const runbookSsh = compileSshLevel(this, this.doc.ssh, ['ssh']);
    const seen = new Set<string>();
    return this.doc.tiers.map((t, i) => {
      if (seen.has(t.name)) this.errors.push({ path: ['tiers', i, 'name'], message: `tier name "${t.name}" is used twice` });
      seen.add(t.name);
      return this.tier(t, i, runbookSsh);
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
  const tiers = b.tiers();
  const precheck = doc.safety.precheck === undefined ? null : compilePromql(b, doc.safety.precheck.promql, ['safety', 'precheck', 'promql']);
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
      maxConcurrentPerPool: doc.safety.maxConcurrentPerPool,
      fleetBreaker: { maxTargets: doc.safety.fleetBreaker?.maxTargets ?? 5, perMs: ms(doc.safety.fleetBreaker?.per ?? '10m') },
      waitForMs: ms(doc.safety.waitFor),
      precheck,
      silence: doc.safety.silence,
    },
    tiers,
  };
  return { runbook: deepFreeze(runbook), errors: b.errors, warnings: b.warnings };
}
