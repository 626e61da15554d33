/** A unit's journal: systemd's own lines and the engine's output, kept in memory and in STATE/hosts/HOST/journal/UNIT.log. */
import fs from 'node:fs';
import path from 'node:path';
import type { JournalEntry } from './api-types.js';

const KEEP = 20_000;

/** The lines of one unit, oldest first. */
export class Journal {
  private readonly entries: JournalEntry[] = [];
  private partial = new Map<string, string>();

  constructor(private readonly file: string) {
    fs.mkdirSync(path.dirname(file), { recursive: true });
  }

  /** Adds one line. */
  add(ident: string, pid: number, message: string): void {
    const entry: JournalEntry = { at: new Date().toISOString(), ident, pid, message };
    this.entries.push(entry);
    if (this.entries.length > KEEP) this.entries.splice(0, this.entries.length - KEEP);
    fs.appendFileSync(this.file, `${JSON.stringify(entry)}\n`);
  }

  /** Feeds a chunk of a process's output; whole lines become entries, a trailing partial line waits for the rest. */
  feed(ident: string, pid: number, stream: string, chunk: string): void {
    const key = `${pid}/${stream}`;
    const text = (this.partial.get(key) ?? '') + chunk;
    const lines = text.split('\n');
    this.partial.set(key, lines.pop() ?? '');
    for (const line of lines) this.add(ident, pid, line);
  }

  /** Flushes what is left of a process's partial lines once it exits. */
  flush(pid: number): void {
    for (const [key, rest] of this.partial) {
      if (key.startsWith(`${pid}/`) && rest !== '') this.add('vllm', pid, rest);
    }
    this.partial = new Map([...this.partial].filter(([key]) => !key.startsWith(`${pid}/`)));
  }

  /** The last `lines` entries (all when undefined). */
  tail(lines?: number): JournalEntry[] {
    return lines === undefined ? [...this.entries] : this.entries.slice(Math.max(0, this.entries.length - lines));
  }
}
