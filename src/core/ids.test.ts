import { describe, it, expect } from '@jest/globals';
import { newId } from './ids.js';

describe('newId', () => {
  it('makes 26-character ids in the ULID alphabet, each greater than the last, within one millisecond and across them', () => {
    // More than one 4 KiB draw of random bytes (256 ids), so ids made across a refill are checked too.
    const ids = Array.from({ length: 1000 }, (_, i) => newId(1_700_000_000_000 + Math.floor(i / 300)));
    for (const id of ids) expect(id).toMatch(/^[0-9A-HJKMNP-TV-Z]{26}$/);
    for (let i = 1; i < ids.length; i++) expect((ids[i] ?? '') > (ids[i - 1] ?? '')).toBe(true);
    expect(new Set(ids).size).toBe(ids.length);
  });

  it('draws fresh randomness for each new millisecond', () => {
    const a = newId(1_800_000_000_000);
    const b = newId(1_800_000_000_001);
    expect(a.slice(0, 10)).not.toBe(b.slice(0, 10));
    // Equal random parts in two fresh draws would mean the pool handed out the same bytes twice.
    expect(a.slice(10)).not.toBe(b.slice(10));
  });
});
