/** Loads one runbook file: YAML with positions, the strict schema, the refused keys, then compiling. */

import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { LineCounter, parseDocument, type Document } from 'yaml';
import type { Runbook } from '../core/runbook.js';
import { toError } from '../core/errors.js';
import { buildRunbook } from './build-runbook.js';
import { findNotSupported } from './not-supported.js';
import { compareIssues, fromZodIssues, locate, type PathIssue, type RunbookIssue } from './runbook-issue.js';
import { runbookSchema } from './runbook-schema.js';

/** The outcome of loading one file: a runbook only when `errors` is empty. */
export interface LoadResult {
  readonly runbook?: Runbook;
  readonly errors: RunbookIssue[];
  readonly warnings: RunbookIssue[];
}

const UTF8 = new TextDecoder('utf-8', { fatal: true });

function positioned(file: string, doc: Document, counter: LineCounter, issues: readonly PathIssue[]): RunbookIssue[] {
  return issues.map((issue) => ({ file, ...pick(locate(doc, counter, issue)), message: issue.message })).sort(compareIssues);
}

function pick(p: { line: number; col: number }): { line: number; col: number } {
  return { line: p.line, col: p.col };
}

function yamlErrors(file: string, doc: Document, counter: LineCounter): RunbookIssue[] {
  return doc.errors.map((e) => {
    const { line, col } = counter.linePos(e.pos[0]);
    const message = e.code === 'DUPLICATE_KEY' ? 'duplicate key (each key may appear once in a map)' : e.message.split('\n')[0] ?? e.message;
    return { file, line, col, message: `YAML: ${message}` };
  });
}

/** Compiles one runbook from the file's bytes (or text); `file` is only used to name positions. */
export function compileRunbook(file: string, source: string | Uint8Array): LoadResult {
  const bytes = typeof source === 'string' ? Buffer.from(source, 'utf8') : source;
  const hash = createHash('sha256').update(bytes).digest('hex');
  let text: string;
  try {
    text = typeof source === 'string' ? source : UTF8.decode(source);
  } catch {
    return { errors: [{ file, line: 0, col: 0, message: 'file is not valid UTF-8' }], warnings: [] };
  }
  const counter = new LineCounter();
  const doc = parseDocument(text, { lineCounter: counter, uniqueKeys: true, prettyErrors: false });
  const syntax = yamlErrors(file, doc, counter);
  if (syntax.length > 0) return { errors: syntax, warnings: [] };
  let data: unknown;
  try {
    data = doc.toJS({ maxAliasCount: 100 });
  } catch (err) {
    return { errors: [{ file, line: 1, col: 1, message: `YAML: ${toError(err).message}` }], warnings: [] };
  }
  const issues: PathIssue[] = findNotSupported(data);
  const parsed = runbookSchema.safeParse(data);
  if (!parsed.success) issues.push(...fromZodIssues(parsed.error.issues, data));
  const built = parsed.success ? buildRunbook(parsed.data, file, hash) : null;
  if (built) issues.push(...built.errors);
  const errors = positioned(file, doc, counter, issues);
  const warnings = positioned(file, doc, counter, built?.warnings ?? []);
  if (errors.length > 0 || !built?.runbook) return { errors, warnings };
  return { runbook: built.runbook, errors, warnings };
}

/** Reads and compiles one runbook file; an unreadable file is an error result, not an exception. */
export async function loadRunbookFile(file: string): Promise<LoadResult> {
  let bytes: Buffer;
  try {
    bytes = await readFile(file);
  } catch (err) {
    return { errors: [{ file, line: 0, col: 0, message: `cannot read: ${toError(err).message}` }], warnings: [] };
  }
  return compileRunbook(file, bytes);
}

/** The line and column of a path in a runbook's text (1:1 when the path is not in it). */
export function positionIn(text: string, path: readonly (string | number)[]): { line: number; col: number } {
  const counter = new LineCounter();
  const doc = parseDocument(text, { lineCounter: counter });
  return pick(locate(doc, counter, { path, message: '' }));
}
