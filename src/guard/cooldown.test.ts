import { describe, expect, it } from '@jest/globals';
import { cooldownUntil, effectiveCooldownMs } from './cooldown.js';

const safety = { cooldownMs: 300_000, maxAttempts: { count: 3, perMs: 3_600_000 }, maxPendingAgeMs: 900_000 };

describe('effectiveCooldownMs', () => {
  it.each([
    [300_000, 0, 300_000],
    [300_000, 1, 600_000],
    [300_000, 2, 1_200_000],
    [300_000, 4, 3_600_000],
    [300_000, 50, 3_600_000],
    [7_200_000, 3, 7_200_000],
    [0, 5, 0],
  ])('with base %d ms after %d failures in a row waits %d ms', (base, failures, expected) => {
    expect(effectiveCooldownMs(base, failures)).toBe(expected);
  });
});

describe('cooldownUntil', () => {
  it('applies no cooldown to a target that never ran', () => {
    expect(cooldownUntil(safety, null, 1_000)).toBeNull();
  });

  it('defers a new episode until the cooldown after the last run ends', () => {
    expect(cooldownUntil(safety, { endedAt: 10_000, consecutiveFailures: 0 }, 20_000)).toBe(310_000);
  });

  it('lets a run start once the cooldown has passed', () => {
    expect(cooldownUntil(safety, { endedAt: 10_000, consecutiveFailures: 0 }, 310_001)).toBeNull();
  });

  it('doubles the wait after a failed run', () => {
    expect(cooldownUntil(safety, { endedAt: 0, consecutiveFailures: 1 }, 1)).toBe(600_000);
  });
});
