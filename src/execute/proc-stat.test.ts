import { describe, it, expect } from '@jest/globals';
import { parseStartTicks, readStartTicks } from './proc-stat.js';

const tail = 'S 1 100 100 0 -1 4194560 1 0 0 0 0 0 0 0 20 0 1 0 987654 1000 10 18446744073709551615';

describe('parseStartTicks', () => {
  it.each([
    ['a plain comm', `100 (bash) ${tail}`],
    ['a comm with spaces', `100 (my prog) ${tail}`],
    ['a comm with parentheses', `100 (a) (b) c)) ${tail}`],
  ])('reads field 22 after %s', (_name, line) => {
    expect(parseStartTicks(line)).toBe(987654);
  });

  it.each([['no closing parenthesis', '100 (bash S 1'], ['too few fields', '100 (bash) S 1 2']])('answers null for %s', (_name, line) => {
    expect(parseStartTicks(line)).toBeNull();
  });

  it('reads this process and nothing for a pid that does not exist', () => {
    expect(readStartTicks(process.pid)).toEqual(expect.any(Number));
    expect(readStartTicks(2 ** 30)).toBeNull();
  });
});
