/** Time as a port, so pure logic can be tested with a fixed clock. */
export interface Clock {
  /** Milliseconds since the epoch. */
  now(): number;
}

/** The process clock. */
export const systemClock: Clock = { now: () => Date.now() };

/** Formats epoch milliseconds as RFC 3339, or null for null. */
export function isoOrNull(ms: number | null | undefined): string | null {
  return ms === null || ms === undefined ? null : new Date(ms).toISOString();
}
