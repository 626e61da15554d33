/** The gateway's ordered event log (GET /admin/events). */
import type { GatewayEvent, GatewayEventKind } from './gateway-types.js';

/** Where else an event goes as it is recorded (the process entry prints them). */
export type EventSink = (event: GatewayEvent) => void;

const LIMIT = 10_000;

/** An append-only list with millisecond ISO timestamps and sequence numbers, bounded to the last 10 000. */
export class GatewayEventLog {
  private readonly events: GatewayEvent[] = [];
  private seq = 0;

  constructor(private readonly sink?: EventSink) {}

  /** Records one event. */
  add(kind: GatewayEventKind, model: string, replica: string | null, detail: Record<string, unknown> = {}): GatewayEvent {
    const event: GatewayEvent = { seq: ++this.seq, at: new Date().toISOString(), kind, replica, model, detail };
    this.events.push(event);
    // A gateway left running for days must not grow without bound; sequence numbers keep counting.
    if (this.events.length > LIMIT) this.events.splice(0, this.events.length - LIMIT);
    this.sink?.(event);
    return event;
  }

  /** Events after sequence number `afterSeq` (all by default), oldest first. */
  list(afterSeq = 0): GatewayEvent[] {
    return this.events.filter((e) => e.seq > afterSeq);
  }
}
