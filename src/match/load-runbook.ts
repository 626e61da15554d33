/** Loads one runbook file: YAML with positions, the strict schema, the refused keys, then compiling. */

import { createHash } from 'node:crypto';
import { open, stat } from 'node:fs/promises';
import { LineCounter, parseDocument, type Document, type YAMLError } from 'yaml';
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

/** The largest runbook file read (256 KiB): far above any real runbook, and a bound on what one file costs a reload. */
export const MAX_RUNBOOK_BYTES = 256 * 1024;

function tooLarge(file: string, bytes: number): LoadResult {
  const message = `file is ${bytes} bytes, over the ${MAX_RUNBOOK_BYTES}-byte (${MAX_RUNBOOK_BYTES / 1024} KiB) cap on a runbook file`;
  return { errors: [{ file, line: 0, col: 0, message }], warnings: [] };
}

function positioned(file: string, doc: Document, counter: LineCounter, issues: readonly PathIssue[]): RunbookIssue[] {
  return issues.map((issue) => ({ file, ...pick(locate(doc, counter, issue)), message: issue.message })).sort(compareIssues);
}

function pick(p: { line: number; col: number }): { line: number; col: number } {
  return { line: p.line, col: p.col };
}

function yamlMessage(e: YAMLError): string {
  if (e.code === 'DUPLICATE_KEY') return 'duplicate key (each key may appear once in a map)';
  if (e.code === 'TAG_RESOLVE_FAILED') return `${e.message.split('\n')[0] ?? e.message} (a runbook is plain YAML: no tags such as !!js/function or !foo)`;
  return e.message.split('\n')[0] ?? e.message;
}

/** Errors and warnings alike: a warning (an unknown tag, read as a string by default) would make the file mean something else than it says. */
function yamlErrors(file: string, doc: Document, counter: LineCounter): RunbookIssue[] {
  return [...doc.errors, ...doc.warnings].map((e) => {
    const { line, col } = counter.linePos(e.pos[0]);
    return { file, line, col, message: `YAML: ${yamlMessage(e)}` };
  });
}

/** Compiles one runbook from the file's bytes (or text); `file` is only used to name positions. */
export function compileRunbook(file: string, source: string | Uint8Array): LoadResult {
  const bytes = typeof source === 'string' ? Buffer.from(source, 'utf8') : source;
  if (bytes.length > MAX_RUNBOOK_BYTES) return tooLarge(file, bytes.length);
  const hash = createHash('sha256').update(bytes).digest('hex');
  let text: string;
  try {
    text = typeof source === 'string' ? source : UTF8.decode(source);
  } catch {
    return { errors: [{ file, line: 0, col: 0, message: 'file is not valid UTF-8' }], warnings: [] };
  }
  const counter = new LineCounter();
  // resolveKnownTags: false, so YAML 1.1 tags (!!binary, !!set, !!timestamp) are unknown tags too, not Buffers, Sets and Dates.
  const doc = parseDocument(text, { lineCounter: counter, uniqueKeys: true, prettyErrors: false, resolveKnownTags: false });
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

/** Reads at most the cap and one byte more, so a huge file is refused without reading it. */
async function readCapped(file: string): Promise<Buffer> {
  const handle = await open(file, 'r');
  try {
    const buffer = Buffer.alloc(MAX_RUNBOOK_BYTES + 1);
    let length = 0;
    for (;;) {
      const { bytesRead } = await handle.read(buffer, length, buffer.length - length, null);
      if (bytesRead === 0 || length + bytesRead === buffer.length) return buffer.subarray(0, length + bytesRead);
      length += bytesRead;
    }
  } finally {
    await handle.close();
  }
}

/** Reads and compiles one runbook file; an unreadable or oversized file is an error result, not an exception. */
export async function loadRunbookFile(file: string): Promise<LoadResult> {
  let bytes: Buffer;
  try {
    const { size } = await stat(file);
    if (size > MAX_RUNBOOK_BYTES) return tooLarge(file, size);
    bytes = await readCapped(file);
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
