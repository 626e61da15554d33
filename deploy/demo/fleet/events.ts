/** The supervisor's ordered event log (GET /events), also appended to STATE/events.jsonl for post-mortems. */
import fs from 'node:fs';
import type { FleetEvent } from './api-types.js';

/** The kinds of event the supervisor records. */
export type EventKind =
  | 'unit-start'
  | 'unit-ready'
  | 'unit-stop'
  | 'unit-exit'
  | 'env-changed'
  | 'gpu-reset'
  | 'gpu-reset-failed'
  | 'xid'
  | 'fault-injected'
  | 'fault-cleared';

/** An append-only list with millisecond ISO timestamps and a sequence number. */
export class EventLog {
  private readonly events: FleetEvent[] = [];

  constructor(private readonly file: string | null) {}

  /** Records one event. */
  add(kind: EventKind, host: string, detail: Record<string, unknown>, unit?: string): FleetEvent {
    const event: FleetEvent = { seq: this.events.length + 1, at: new Date().toISOString(), kind, host, ...(unit === undefined ? {} : { unit }), detail };
    this.events.push(event);
    if (this.file) fs.appendFileSync(this.file, `${JSON.stringify(event)}\n`);
    return event;
  }

  /** Events after sequence number `afterSeq` (all by default). */
  list(afterSeq = 0): FleetEvent[] {
    return this.events.filter((e) => e.seq > afterSeq);
  }
}
