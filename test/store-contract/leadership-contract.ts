/** Contract: a leader role held for a term on the store's clock, renewed by its holder, taken over only once it ran out or was released. */

import { describe, expect, it } from '@jest/globals';
import type { StoreContext } from './run-store-contract.js';
import { sleep } from './fixtures.js';

/** Short enough to wait out in a test, long enough that the calls made inside it land well within it. */
const TERM_MS = 400;
/** A term that no test waits out. */
const LONG_MS = 60_000;

/** Registers the leadership tests. */
export function describeLeadershipContract(ctx: StoreContext): void {
  const hold = (owner: string, termMs = TERM_MS): Promise<boolean> => ctx.store.holdLeadership('periodic', owner, termMs);

  describe('leadership', () => {
    it('gives a free role to the first owner, refuses it to another while the term runs, and renews it for the holder', async () => {
      expect(await hold('a')).toBe(true);
      expect(await hold('b')).toBe(false);
      expect(await hold('a')).toBe(true);
      expect(await hold('b')).toBe(false);
      expect(await hold('a')).toBe(true);
    });

    it('counts a renewed term from the renewal, so the holder keeps the role past its first term', async () => {
      expect(await hold('a')).toBe(true);
      await sleep(TERM_MS * 0.6);
      expect(await hold('a')).toBe(true);
      await sleep(TERM_MS * 0.6);
      // Past the first term's end but inside the renewed one.
      expect(await hold('b')).toBe(false);
    });

    it('hands the role to another owner once the term ran out, in a term of its own that the old holder cannot renew', async () => {
      expect(await hold('a')).toBe(true);
      await sleep(TERM_MS + 150);
      expect(await hold('b')).toBe(true);
      // Had b inherited a's spent term, a would take the role straight back.
      expect(await hold('a')).toBe(false);
      expect(await hold('b')).toBe(true);
      expect(await hold('a')).toBe(false);
    });

    it('lets another owner take the role at once after the holder released it', async () => {
      expect(await hold('a', LONG_MS)).toBe(true);
      await ctx.store.releaseLeadership('periodic', 'a');
      expect(await hold('b', LONG_MS)).toBe(true);
      expect(await hold('a', LONG_MS)).toBe(false);
    });

    it('changes nothing when an owner that does not hold the role releases it', async () => {
      await expect(ctx.store.releaseLeadership('periodic', 'nobody')).resolves.toBeUndefined();
      expect(await hold('a', LONG_MS)).toBe(true);
      await ctx.store.releaseLeadership('periodic', 'b');
      expect(await hold('b', LONG_MS)).toBe(false);
      expect(await hold('a', LONG_MS)).toBe(true);
    });

    it('ignores a release by a former holder once another owner took the role', async () => {
      expect(await hold('a', LONG_MS)).toBe(true);
      await ctx.store.releaseLeadership('periodic', 'a');
      await ctx.store.releaseLeadership('periodic', 'a');
      expect(await hold('b', LONG_MS)).toBe(true);
      await ctx.store.releaseLeadership('periodic', 'a');
      expect(await hold('b', LONG_MS)).toBe(true);
      expect(await hold('a', LONG_MS)).toBe(false);
    });
  });
}
