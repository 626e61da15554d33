import { randomBytes } from 'node:crypto';

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

function freshRandom(): number[] {
  return Array.from(randomBytes(16), (b) => b % 32);
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
