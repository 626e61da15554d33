/** A per-replica circuit breaker: consecutive failures open it, openFor later it lets one probe through. */
import type { BreakerState } from './gateway-types.js';

/** Called on every state change, with why. */
export type BreakerListener = (state: BreakerState, detail: Record<string, unknown>) => void;

/** The breaker of one replica. */
export class Breaker {
  private current: BreakerState = 'closed';
  private failures = 0;
  private probing = false;
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly threshold: number,
    private readonly openForMs: number,
    private readonly onChange: BreakerListener,
  ) {}

  /** The state now. */
  get state(): BreakerState {
    return this.current;
  }

  /** Whether a routed request may be sent now: closed, or half-open with its probe slot free. */
  canRoute(): boolean {
    return this.current === 'closed' || (this.current === 'half-open' && !this.probing);
  }

  /** Takes the slot for a routed request; in half-open it is the one probe. */
  acquire(): void {
    if (this.current === 'half-open') this.probing = true;
  }

  /** The replica answered: a half-open probe closes the breaker; a closed one forgets earlier failures. */
  success(): void {
    this.probing = false;
    if (this.current === 'open') return; // an answer to a request sent before it opened proves little
    this.failures = 0;
    if (this.current === 'half-open') this.transition('closed', {});
  }

  /** The replica failed a request; enough in a row (or a failed probe) opens the breaker. */
  failure(reason: string): void {
    this.probing = false;
    if (this.current === 'open') return;
    this.failures++;
    if (this.current === 'half-open') this.open({ reason, probe: true });
    else if (this.failures >= this.threshold) this.open({ reason, failures: this.failures });
  }

  /** A request ended with no verdict on the replica (the client left, a 4xx): frees a probe slot. */
  release(): void {
    this.probing = false;
  }

  /** Stops the half-open timer (the gateway is closing). */
  dispose(): void {
    clearTimeout(this.timer);
  }

  private open(detail: Record<string, unknown>): void {
    this.transition('open', { ...detail, openForMs: this.openForMs });
    clearTimeout(this.timer);
    // A timer rather than a check at routing time, so the event log says when it half-opened.
    this.timer = setTimeout(() => this.transition('half-open', {}), this.openForMs);
    this.timer.unref();
  }

  private transition(state: BreakerState, detail: Record<string, unknown>): void {
    this.current = state;
    if (state !== 'open') clearTimeout(this.timer);
    if (state === 'closed') this.failures = 0;
    this.onChange(state, detail);
  }
}
