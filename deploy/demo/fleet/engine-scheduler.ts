/** The engine's batch: at most max-num-seqs running, the rest waiting, each running sequence at T tokens/s. */
import type { EngineMetrics } from './engine-metrics.js';

/** Why a sequence ended, as vLLM's finished_reason says it (error: the engine died under it). */
export type FinishReason = 'stop' | 'length' | 'abort' | 'error';

/** One request in the engine. */
export interface Sequence {
  readonly id: string;
  readonly promptTokens: number;
  readonly maxTokens: number;
  readonly arrivedAt: number;
  admittedAt: number | null;
  firstTokenAt: number | null;
  lastTokenAt: number | null;
  nextTokenAt: number;
  generated: number;
  /** The client went away; a hung engine keeps the sequence anyway, as a stuck one does. */
  abandoned: boolean;
  readonly onToken: (text: string) => void;
  readonly onFinish: (reason: FinishReason) => void;
}

const WORDS = ' the fleet serves tokens at a steady pace while the runbooks keep watch over every replica'.split(/(?= )/);

/** The running and waiting queues and the token clock. */
export class Scheduler {
  readonly waiting: Sequence[] = [];
  readonly running: Sequence[] = [];
  /** Set by the hung fault: sequences are admitted and held, no token is produced. */
  hung = false;
  private word = 0;
  private generatedSinceStats = 0;
  private promptSinceStats = 0;

  constructor(
    private readonly maxNumSeqs: number,
    private readonly tokensPerSecond: number,
    private readonly metrics: EngineMetrics,
  ) {}

  /** Queues a request and admits it at once when a slot is free. */
  submit(seq: Sequence): void {
    this.waiting.push(seq);
    this.admit(Date.now());
  }

  /** The client left: the sequence is aborted, except on a hung engine, which keeps it running. */
  abandon(seq: Sequence): void {
    seq.abandoned = true;
    if (this.hung) return;
    if (this.remove(seq)) this.finish(seq, 'abort', Date.now());
    this.admit(Date.now());
  }

  /** Ends every sequence with `reason` (the engine is dying or shutting down). */
  failAll(reason: FinishReason): void {
    const now = Date.now();
    for (const seq of [...this.running, ...this.waiting]) this.finish(seq, reason, now);
    this.running.length = 0;
    this.waiting.length = 0;
    this.updateGauges();
  }

  /** Produces every token that is due, finishes full sequences and admits waiting ones. */
  tick(now = Date.now()): void {
    if (this.hung) return;
    const interval = 1000 / this.tokensPerSecond;
    let produced = 0;
    for (const seq of [...this.running]) {
      // After a stall the clock restarts instead of bursting out the tokens it missed.
      if (now - seq.nextTokenAt > 10 * interval) seq.nextTokenAt = now;
      while (now >= seq.nextTokenAt && seq.generated < seq.maxTokens) {
        this.emit(seq, seq.nextTokenAt);
        seq.nextTokenAt += interval;
        produced++;
      }
      if (seq.generated >= seq.maxTokens) {
        this.remove(seq);
        this.finish(seq, 'length', now);
      }
    }
    if (produced > 0) this.metrics.generationTokens.inc(produced);
    this.generatedSinceStats += produced;
    this.admit(now);
  }

  /** Called when the hung fault clears: token clocks restart from now. */
  resume(now = Date.now()): void {
    for (const seq of this.running) seq.nextTokenAt = now + 1000 / this.tokensPerSecond;
  }

  /** Tokens held in the KV cache by running sequences, in whole 16-token blocks. */
  kvBlocksInUse(blockSize: number): number {
    return this.running.reduce((sum, s) => sum + Math.ceil((s.promptTokens + s.generated) / blockSize), 0);
  }

  /** Prompt and generation tokens since the last call, for the 10-second stats line. */
  takeStats(): { prompt: number; generated: number } {
    const out = { prompt: this.promptSinceStats, generated: this.generatedSinceStats };
    this.promptSinceStats = 0;
    this.generatedSinceStats = 0;
    return out;
  }

  private admit(now: number): void {
    while (this.running.length < this.maxNumSeqs && this.waiting.length > 0) {
      const seq = this.waiting.shift() as Sequence;
      seq.admittedAt = now;
      // Prefill takes one token's time; the first token follows it.
      seq.nextTokenAt = now + 1000 / this.tokensPerSecond;
      this.running.push(seq);
      this.metrics.queueTime.observe((now - seq.arrivedAt) / 1000);
      this.metrics.promptTokens.inc(seq.promptTokens);
      this.promptSinceStats += seq.promptTokens;
    }
    this.updateGauges();
  }

  private emit(seq: Sequence, at: number): void {
    if (seq.firstTokenAt === null) {
      seq.firstTokenAt = at;
      this.metrics.ttft.observe((at - seq.arrivedAt) / 1000);
    } else if (seq.lastTokenAt !== null) {
      this.metrics.interToken.observe((at - seq.lastTokenAt) / 1000);
    }
    seq.lastTokenAt = at;
    seq.generated++;
    const text = WORDS[this.word++ % WORDS.length] ?? ' token';
    if (!seq.abandoned) seq.onToken(text);
  }

  private finish(seq: Sequence, reason: FinishReason, now: number): void {
    this.metrics.requestSuccess.labels({ finished_reason: reason }).inc();
    this.metrics.e2e.observe((now - seq.arrivedAt) / 1000);
    if (seq.admittedAt !== null && seq.firstTokenAt !== null) {
      this.metrics.prefillTime.observe((seq.firstTokenAt - seq.admittedAt) / 1000);
      this.metrics.decodeTime.observe((now - seq.firstTokenAt) / 1000);
    }
    if (!seq.abandoned) seq.onFinish(reason);
    this.updateGauges();
  }

  private remove(seq: Sequence): boolean {
    for (const queue of [this.running, this.waiting]) {
      const at = queue.indexOf(seq);
      if (at >= 0) {
        queue.splice(at, 1);
        return true;
      }
    }
    return false;
  }

  private updateGauges(): void {
    this.metrics.running.set(this.running.length);
    this.metrics.waiting.set(this.waiting.length);
  }
}
