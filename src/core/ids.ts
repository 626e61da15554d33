import { randomFillSync } from 'node:crypto';

/** Opaque, time-ordered ids (ULID alphabet): 10 characters of milliseconds, 16 of randomness. */

const ALPHABET = '0123456789ABCDEFGHJKMNPQRSTVWXYZ';
let lastMs = -1;
let lastRandom: number[] = [];

function encodeTime(ms: number): string {
  let out = '';
  let rest = ms;
  for (let i = 0; i < 10; i++) {
    out = ALPHABET[rest % 32] + out;
    rest = Math.floor(rest / 32);
  }
  return out;
}

// Random bytes are drawn 4 KiB at a time: one call into the kernel per 256 ids rather than one per id (every decision
// takes one), as crypto.randomUUID caches its entropy.
const pool = Buffer.alloc(4096);
let poolOffset = pool.length;

function freshRandom(): number[] {
  if (poolOffset + 16 > pool.length) {
    randomFillSync(pool);
    poolOffset = 0;
  }
  const digits = Array.from(pool.subarray(poolOffset, poolOffset + 16), (b) => b % 32);
  poolOffset += 16;
  return digits;
}

/** Increments the random part so ids made within one millisecond stay ordered. */
function increment(digits: number[]): number[] {
  const next = [...digits];
  for (let i = next.length - 1; i >= 0; i--) {
    const d = next[i] ?? 0;
    if (d < 31) {
      next[i] = d + 1;
      return next;
    }
    next[i] = 0;
  }
  return freshRandom();
}

/** A new id, greater than every id this process made before. */
export function newId(nowMs: number = Date.now()): string {
  if (nowMs <= lastMs) {
    lastRandom = increment(lastRandom);
  } else {
    lastMs = nowMs;
    lastRandom = freshRandom();
  }
  return encodeTime(lastMs) + lastRandom.map((d) => ALPHABET[d]).join('');
}
