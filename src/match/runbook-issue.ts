/** Runbook load errors and warnings as data, each pointing at `file:line:col` of the YAML node at fault. */

import { isMap, isScalar, isSeq, type Document, type LineCounter, type Node } from 'yaml';
import type { z } from 'zod';

/** One error or warning about a runbook file; line and col are 1-based (0 when the whole file is at fault). */
export interface RunbookIssue {
  readonly file: string;
  readonly line: number;
  readonly col: number;
  readonly message: string;
}

export type Path = ReadonlyArray<string | number>;

/** An issue still named by its path in the document; `at: 'key'` points at the key rather than its value. */
export interface PathIssue {
  readonly path: Path;
  readonly message: string;
  readonly at?: 'key' | 'value';
}

/** Formats an issue the way `remediator check` prints it. */
export function formatIssue(issue: RunbookIssue): string {
  return issue.line > 0 ? `${issue.file}:${issue.line}:${issue.col}: ${issue.message}` : `${issue.file}: ${issue.message}`;
}

/** Orders issues by file, then position. */
export function compareIssues(a: RunbookIssue, b: RunbookIssue): number {
  return a.file.localeCompare(b.file) || a.line - b.line || a.col - b.col;
}

function keyName(key: unknown): string | undefined {
  return isScalar(key) ? String(key.value) : undefined;
}

interface Found {
  readonly node: Node | null;
  readonly key: Node | null;
  /** True when every segment of the path exists in the document. */
  readonly complete: boolean;
}

/** Walks a path through the YAML tree, stopping at the deepest node that exists. */
function find(doc: Document, path: Path): Found {
  let node = (doc.contents as Node | null) ?? null;
  let key: Node | null = null;
  for (const seg of path) {
    if (isMap(node)) {
      const pair = node.items.find((p) => keyName(p.key) === String(seg));
      if (!pair) return { node, key, complete: false };
      key = (pair.key as Node | null) ?? null;
      node = (pair.value as Node | null) ?? key;
    } else if (isSeq(node) && typeof seg === 'number' && node.items[seg] !== undefined) {
      node = (node.items[seg] as Node | null) ?? node;
      key = null;
    } else {
      return { node, key, complete: false };
    }
  }
  return { node, key, complete: true };
}

/** Resolves a path issue to a line and column, and whether the path exists at all. */
export function locate(doc: Document, counter: LineCounter, issue: PathIssue): { line: number; col: number; exists: boolean } {
  const found = find(doc, issue.path);
  const node = issue.at === 'key' && found.complete && found.key ? found.key : found.node;
  const offset = node?.range?.[0] ?? 0;
  const { line, col } = counter.linePos(offset);
  return { line, col, exists: found.complete };
}

function describe(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'a list';
  if (typeof value === 'object') return 'a map';
  return `${typeof value} ${JSON.stringify(value)}`;
}

function valueAt(data: unknown, path: Path): unknown {
  let v = data;
  for (const seg of path) v = typeof v === 'object' && v !== null ? (v as Record<string | number, unknown>)[seg] : undefined;
  return v;
}

function rootType(branch: readonly z.core.$ZodIssue[]): string | undefined {
  const miss = branch.find((i) => i.code === 'invalid_type' && i.path.length === 0);
  return miss?.code === 'invalid_type' ? miss.expected : undefined;
}

/** A union's value fits one branch by type: report that branch's issues; else say which types would do. */
function fromUnion(issue: z.core.$ZodIssueInvalidUnion, path: Path, data: unknown): PathIssue[] {
  const fitting = issue.errors.filter((branch) => rootType(branch) === undefined);
  const [only] = fitting;
  if (fitting.length === 1 && only) return fromZodIssues(only.map((i) => ({ ...i, path: [...path, ...i.path] })), data);
  const types = issue.errors.map(rootType).filter((t) => t !== undefined);
  const actual = describe(valueAt(data, path));
  return [{ path, message: types.length > 0 ? `expected ${types.join(' or ')}, got ${actual}` : issue.message.replace(/^Invalid input: /, '') }];
}

/** Turns zod issues into path issues with messages written for a runbook author. */
export function fromZodIssues(issues: readonly z.core.$ZodIssue[], data: unknown): PathIssue[] {
  const out: PathIssue[] = [];
  for (const issue of issues) {
    const path = issue.path.filter((p): p is string | number => typeof p !== 'symbol');
    if (issue.code === 'unrecognized_keys') {
      for (const k of issue.keys) out.push({ path: [...path, k], at: 'key', message: `unknown key "${k}"` });
    } else if (issue.code === 'invalid_key') {
      out.push({ path, at: 'key', message: issue.issues[0]?.message ?? issue.message });
    } else if (issue.code === 'invalid_union') {
      out.push(...fromUnion(issue, path, data));
    } else if (issue.code === 'invalid_type') {
      const actual = valueAt(data, path);
      const last = path[path.length - 1];
      out.push({
        path,
        message: actual === undefined ? `missing required key "${String(last)}"` : `expected ${issue.expected}, got ${describe(actual)}`,
      });
    } else {
      out.push({ path, message: issue.message.replace(/^Invalid input: /, '') });
    }
  }
  return out;
}
