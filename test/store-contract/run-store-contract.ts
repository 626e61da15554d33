/** The one RunStore contract every adapter must pass (SQLite now, PostgreSQL later). */

import { afterEach, beforeEach, describe } from '@jest/globals';
import type { RunStore } from '../../src/history/run-store.js';
import { describeApprovalContract } from './approval-contract.js';
import { describeCountsContract } from './counts-contract.js';
import { describeEpisodeContract } from './episode-contract.js';
import { describeEpisodeMemoryContract } from './episode-memory-contract.js';
import { describeEscalationContract } from './escalation-contract.js';
import { describeLeadershipContract } from './leadership-contract.js';
import { describeLeaseContract } from './lease-contract.js';
import { describeLimitsContract } from './limits-contract.js';
import { describeReadingContract } from './reading-contract.js';
import { describeReportContract } from './report-contract.js';
import { describeRetentionContract } from './retention-contract.js';
import { describeStepRecordContract } from './step-record-contract.js';

/** A fresh, open, empty store and the way to dispose of it. */
export interface StoreHandle {
  readonly store: RunStore;
  readonly cleanup: () => Promise<void>;
}

export type MakeStore = () => Promise<StoreHandle>;

/** Gives each test its own store through `ctx.store`. */
export interface StoreContext {
  readonly store: RunStore;
}

function useStore(makeStore: MakeStore): StoreContext {
  let handle: StoreHandle | null = null;
  beforeEach(async () => {
    handle = await makeStore();
  });
  afterEach(async () => {
    await handle?.cleanup();
    handle = null;
  });
  return {
    get store(): RunStore {
      if (handle === null) throw new Error('the store exists only inside a test');
      return handle.store;
    },
  };
}

/** Registers the whole contract suite for one adapter; makeStore must return an open, empty store. */
export function describeRunStoreContract(name: string, makeStore: MakeStore): void {
  describe(`RunStore contract: ${name}`, () => {
    const ctx = useStore(makeStore);
    describeEpisodeContract(ctx);
    describeEpisodeMemoryContract(ctx);
    describeLeaseContract(ctx);
    describeReadingContract(ctx);
    describeLimitsContract(ctx);
    describeEscalationContract(ctx);
    describeStepRecordContract(ctx);
    describeApprovalContract(ctx);
    describeCountsContract(ctx);
    describeReportContract(ctx);
    describeLeadershipContract(ctx);
    describeRetentionContract(ctx);
  });
}
