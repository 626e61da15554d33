/** The one list of runbook keys the format defines but this release cannot run yet; each later feature deletes its lines. */

import type { Path, PathIssue } from './runbook-issue.js';

/**
 * Paths of refused keys: `*` is any list item, and a leading `step.` stands for both
 * `tiers.*.steps.*.` and `tiers.*.onFailure.*.`.
 */
export const NOT_SUPPORTED_YET: readonly string[] = [];

function expand(pattern: string): string[][] {
  if (!pattern.startsWith('step.')) return [pattern.split('.')];
  const rest = pattern.slice(5).split('.');
  return [
    ['tiers', '*', 'steps', '*', ...rest],
    ['tiers', '*', 'onFailure', '*', ...rest],
  ];
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function walk(value: unknown, segs: readonly string[], path: Path, out: PathIssue[]): void {
  const [seg, ...rest] = segs;
  if (seg === undefined) return;
  if (seg === '*') {
    if (Array.isArray(value)) value.forEach((item: unknown, i) => walk(item, rest, [...path, i], out));
    return;
  }
  if (!isRecord(value) || !Object.hasOwn(value, seg)) return;
  if (rest.length > 0) return walk(value[seg], rest, [...path, seg], out);
  out.push({ path: [...path, seg], at: 'key', message: `"${seg}" is not supported yet` });
}

/** Finds every key of a parsed runbook document that this release refuses (`patterns` is for tests). */
export function findNotSupported(doc: unknown, patterns: readonly string[] = NOT_SUPPORTED_YET): PathIssue[] {
  const out: PathIssue[] = [];
  for (const pattern of patterns) for (const segs of expand(pattern)) walk(doc, segs, [], out);
  return out;
}
