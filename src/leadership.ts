/**
 * The periodic work one replica at a time does (the escalation outbox, approval expiry, the silence heartbeat,
 * retention), held as a leadership with a term on the store's clock, as River's elector holds its own. Correctness never
 * rests on there being a single leader (every write the work makes is conditional); the term keeps duplicate posts rare.
 */

import type { Logger } from 'pino';
import { toError } from './core/errors.js';
import type { LeaderRole, RunStore } from './history/run-store.js';

/** What the leader starts on taking the role and stops on losing it. */
export interface LeaderWork {
  start(): void;
  stop(): Promise<void>;
}

export interface LeadershipOptions {
  readonly store: Pick<RunStore, 'holdLeadership' | 'releaseLeadership'>;
  readonly role: LeaderRole;
  readonly owner: string;
  /** How long a taken or renewed term lasts; renewed every third of it. */
  readonly termMs: number;
  readonly work: LeaderWork;
  readonly logger: Logger;
  /** Told of every change, for the metric. */
  readonly onChange?: (leader: boolean) => void;
}

export interface Leadership {
  isLeader(): boolean;
  /** Stops trying, stops the work and gives the role up so another replica takes it at once. */
  stop(): Promise<void>;
}

/** Tries for the role now and every termMs/3; starts the work while held, stops it when lost or when the term may have run out. */
export function startLeadership(options: LeadershipOptions): Leadership {
  const log = options.logger.child({ stage: 'leadership', role: options.role });
  let leader = false;
  let stopped = false;
  // Local monotonic time until which this replica may act: the renewal's start plus the term, less a margin, so that it
  // stops before another replica can take over on the database clock even when a renewal hangs (River's self-distrust).
  let trustUntil = 0;
  let tick: Promise<void> = Promise.resolve();
  const margin = Math.max(50, options.termMs / 10);

  // Changes are applied one after another, so that a start never lands inside a stop still in progress.
  let changes: Promise<void> = Promise.resolve();
  const become = (next: boolean): Promise<void> => {
    if (next === leader) return changes;
    leader = next;
    options.onChange?.(next);
    log.info({ owner: options.owner }, next ? 'took leadership' : 'lost leadership');
    changes = changes.then(async () => {
      if (next) options.work.start();
      else await options.work.stop();
    }).catch((err: unknown) => log.error({ err: toError(err) }, 'leader work failed to change'));
    return changes;
  };

  let distrust: NodeJS.Timeout | null = null;
  let trying = false;
  const attempt = async (): Promise<void> => {
    const startedAt = performance.now();
    trying = true;
    try {
      const held = await options.store.holdLeadership(options.role, options.owner, options.termMs);
      if (stopped) return;
      if (held) {
        trustUntil = startedAt + options.termMs - margin;
        if (distrust !== null) clearTimeout(distrust);
        distrust = setTimeout(() => void become(false), trustUntil - performance.now());
        distrust.unref();
      }
      await become(held);
    } catch (err) {
      log.warn({ err: toError(err) }, 'cannot renew leadership');
    } finally {
      trying = false;
    }
  };

  const timer = setInterval(() => {
    // A renewal still in flight (the store is slow or gone) is not stacked; the distrust timer ends the work meanwhile.
    if (!trying) tick = attempt();
  }, Math.max(20, options.termMs / 3));
  timer.unref();
  tick = attempt();

  return {
    isLeader: () => leader && performance.now() < trustUntil,
    async stop() {
      stopped = true;
      clearInterval(timer);
      if (distrust !== null) clearTimeout(distrust);
      await tick;
      const was = leader;
      await become(false);
      if (was) await options.store.releaseLeadership(options.role, options.owner).catch((err: unknown) => log.warn({ err: toError(err) }, 'cannot release leadership'));
    },
  };
}
