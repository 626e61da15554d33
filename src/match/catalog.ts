/** The runbook catalog: a folder loaded all-or-nothing, and the matching of alerts against it. */

import { readdir, readFile, stat } from 'node:fs/promises';
import path from 'node:path';
import type { LabelSet } from '../core/alert.js';
import { toError } from '../core/errors.js';
import type { Matcher, Runbook } from '../core/runbook.js';
import { compileRunbook, positionIn } from './load-runbook.js';
import { compareIssues, type RunbookIssue } from './runbook-issue.js';

/** The loaded runbooks, frozen, and the one question receive asks of them. */
export interface Catalog {
  /** In file-name order. */
  readonly runbooks: readonly Runbook[];
  get(name: string): Runbook | undefined;
  /** The runbooks whose matchers all hold for the alert, in catalog order. */
  match(alert: { readonly labels: LabelSet }): readonly Runbook[];
}

export type CatalogResult =
  | { readonly ok: true; readonly catalog: Catalog; readonly warnings: readonly RunbookIssue[] }
  | { readonly ok: false; readonly errors: readonly RunbookIssue[]; readonly warnings: readonly RunbookIssue[] };

const NONE: readonly Runbook[] = Object.freeze([]);
const CACHE_LIMIT = 10_000;

/** A runbook that passed its alertname matchers, with the matchers still to check. */
interface Candidate {
  readonly runbook: Runbook;
  readonly rest: readonly Matcher[];
}

function split(rb: Runbook): { byName: readonly Matcher[]; rest: readonly Matcher[] } {
  return { byName: rb.matchers.filter((m) => m.name === 'alertname'), rest: rb.matchers.filter((m) => m.name !== 'alertname') };
}

/**
 * Builds the candidate list for one alertname: runbooks with `alertname = X` come from an index, the others
 * (regex or no alertname matcher) are tested once per alertname and the answer cached.
 */
function candidateFinder(runbooks: readonly Runbook[]): (alertname: string) => readonly Candidate[] {
  const equal = new Map<string, Array<{ index: number; byName: readonly Matcher[]; candidate: Candidate }>>();
  const other: Array<{ index: number; byName: readonly Matcher[]; candidate: Candidate }> = [];
  runbooks.forEach((runbook, index) => {
    const { byName, rest } = split(runbook);
    const entry = { index, byName, candidate: { runbook, rest } };
    const key = byName.find((m) => m.op === '=');
    if (key) equal.set(key.value, [...(equal.get(key.value) ?? []), entry]);
    else other.push(entry);
  });
  const cache = new Map<string, readonly Candidate[]>();
  return (alertname) => {
    const hit = cache.get(alertname);
    if (hit) return hit;
    const labels: LabelSet = Object.assign(Object.create(null) as Record<string, string>, { alertname });
    const found = mergeByIndex(equal.get(alertname) ?? [], other)
      .filter((e) => e.byName.every((m) => m.matches(labels)))
      .map((e) => e.candidate);
    if (cache.size >= CACHE_LIMIT) cache.clear();
    cache.set(alertname, found);
    return found;
  };
}

/** Merges two lists already in catalog order, keeping that order. */
function mergeByIndex<T extends { readonly index: number }>(a: readonly T[], b: readonly T[]): T[] {
  if (a.length === 0) return b.slice();
  const out: T[] = [];
  let i = 0;
  let j = 0;
  while (i < a.length || j < b.length) {
    const x = a[i];
    const y = b[j];
    if (x !== undefined && (y === undefined || x.index < y.index)) {
      out.push(x);
      i++;
    } else if (y !== undefined) {
      out.push(y);
      j++;
    }
  }
  return out;
}

/** Builds a catalog over already-compiled runbooks; matching tests only the runbooks whose alertname matchers hold. */
export function createCatalog(list: readonly Runbook[]): Catalog {
  const runbooks = Object.freeze([...list]);
  const byName = new Map<string, Runbook>(runbooks.map((rb) => [rb.name, rb]));
  const candidates = candidateFinder(runbooks);
  const match = (alert: { readonly labels: LabelSet }): readonly Runbook[] => {
    const labels = alert.labels;
    const name: unknown = labels.alertname;
    let out: Runbook[] | null = null;
    for (const c of candidates(typeof name === 'string' ? name : '')) {
      let holds = true;
      for (const m of c.rest) {
        if (!m.matches(labels)) {
          holds = false;
          break;
        }
      }
      if (holds) (out ??= []).push(c.runbook);
    }
    return out ?? NONE;
  };
  return Object.freeze({ runbooks, get: (name: string) => byName.get(name), match });
}

async function runbookFiles(dir: string): Promise<string[]> {
  const names = (await readdir(dir)).filter((n) => /\.ya?ml$/.test(n)).sort();
  const files: string[] = [];
  for (const n of names) {
    const full = path.join(dir, n);
    if ((await stat(full)).isFile()) files.push(full);
  }
  return files;
}

/** Loads every `*.yaml`/`*.yml` in `dir` (not below it); any error in any file refuses the whole set. */
export async function loadCatalog(dir: string): Promise<CatalogResult> {
  let files: string[];
  try {
    files = await runbookFiles(dir);
  } catch (err) {
    return { ok: false, errors: [{ file: dir, line: 0, col: 0, message: `cannot read runbooks folder: ${toError(err).message}` }], warnings: [] };
  }
  const errors: RunbookIssue[] = [];
  const warnings: RunbookIssue[] = [];
  const runbooks: Runbook[] = [];
  const firstFile = new Map<string, string>();
  for (const file of files) {
    let bytes: Buffer;
    try {
      bytes = await readFile(file);
    } catch (err) {
      errors.push({ file, line: 0, col: 0, message: `cannot read: ${toError(err).message}` });
      continue;
    }
    const result = compileRunbook(file, bytes);
    errors.push(...result.errors);
    warnings.push(...result.warnings);
    if (!result.runbook) continue;
    const earlier = firstFile.get(result.runbook.name);
    if (earlier !== undefined) {
      const pos = positionIn(bytes.toString('utf8'), ['name']);
      errors.push({ file, ...pos, message: `duplicate runbook name "${result.runbook.name}" (also in ${earlier})` });
      continue;
    }
    firstFile.set(result.runbook.name, file);
    runbooks.push(result.runbook);
  }
  if (errors.length > 0) return { ok: false, errors: errors.sort(compareIssues), warnings };
  return { ok: true, catalog: createCatalog(runbooks), warnings };
}

/** The fields `GET /api/v1/runbooks` and `remediator check` show of a runbook. */
export function runbookSummary(rb: Runbook): { name: string; faultClass: string; description: string; file: string; hash: string; mode: Runbook['mode'] } {
  return { name: rb.name, faultClass: rb.faultClass, description: rb.description, file: rb.file, hash: rb.hash, mode: rb.mode };
}
