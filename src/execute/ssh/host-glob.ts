/** OpenSSH-style host patterns for known_hosts entries only (`*` and `?`, `!` negation), as OpenSSH matches them; allow-lists use host-allow/. */

/** True when text matches the glob pattern as a whole (`*` any run of characters, `?` one character), ignoring case. */
export function globMatch(pattern: string, text: string): boolean {
  const p = pattern.toLowerCase();
  const t = text.toLowerCase();
  let pi = 0;
  let ti = 0;
  let starP = -1;
  let starT = 0;
  // Iterative matching with one backtrack point: linear in practice, no regex built from config text.
  while (ti < t.length) {
    if (pi < p.length && (p[pi] === '?' || p[pi] === t[ti])) {
      pi += 1;
      ti += 1;
    } else if (pi < p.length && p[pi] === '*') {
      starP = pi;
      starT = ti;
      pi += 1;
    } else if (starP >= 0) {
      pi = starP + 1;
      starT += 1;
      ti = starT;
    } else {
      return false;
    }
  }
  while (pi < p.length && p[pi] === '*') pi += 1;
  return pi === p.length;
}

/** True when some plain pattern of the list matches and no `!`-negated one does, as OpenSSH's match_hostname decides. */
export function patternListMatches(patterns: readonly string[], text: string): boolean {
  let matched = false;
  for (const pattern of patterns) {
    if (pattern.startsWith('!')) {
      if (globMatch(pattern.slice(1), text)) return false;
    } else if (globMatch(pattern, text)) {
      matched = true;
    }
  }
  return matched;
}
