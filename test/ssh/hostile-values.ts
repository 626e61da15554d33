/** Generated hostile values: shell syntax, quotes, newlines, command substitutions, dashes, unicode and long strings. */

const METAS = [
  ';', '&', '|', '&&', '||', '>', '<', '>>', '<<', '(', ')', '{', '}', '$', '`', '\\', '"', "'", '*', '?', '[', ']', '~', '#',
  '!', '%', '^', '=', ' ', '\t', '\n', '\r', '\x1b', '\x7f', ',', '@', '+', ':', '-', '--',
];

/** At least 200 distinct values, each of which would run `touch CANARY` if a shell ever expanded it. */
export function hostileValues(canary: string): string[] {
  const payloads = [
    `$(touch ${canary})`, `\`touch ${canary}\``, `; touch ${canary}`, `&& touch ${canary}`, `| touch ${canary}`,
    `' ; touch ${canary}; '`, `"; touch ${canary}; "`, `'$(touch ${canary})'`, `"$(touch ${canary})"`, `\ntouch ${canary}\n`,
    `\${IFS}touch\${IFS}${canary}`, `>${canary}`, `<(touch ${canary})`, `$((1+1))$(touch ${canary})`, `'\\''$(touch ${canary})'\\''`,
    `x'; touch ${canary} #`, `\\'; touch ${canary} #`, `\r\ntouch ${canary}`, `$'\\x74ouch' ${canary}`, `{touch,${canary}}`,
  ];
  const plain = [
    '', ' ', '  leading', 'trailing  ', '-rf', '--help', '-n', '-', '--', '-e \\n', '*', '/*', '.*', '~', '~root', '$HOME',
    '${PATH}', '$0', '$@', '$*', '$$', '$?', '!!', '%s%n%x%p', '%00', '\\x00', '\\0', "'", "''", "'\\''", '\\', '\\\\', '"', '\\"',
    'héllo', '日本語', '🙂🙃', 'zero\u200bwidth', 'rtl\u202eoverride', 'e\u0301', 'Ω≈ç√∫', 'a\u2028b\u2029c', '\ufeffbom',
    '[a-z]*', '?(x)', '@(a|b)', '!(x)', '+(y)', '\\*', 'a\\\nb', 'a b c', 'a\tb', '\n', '\n\n', 'x=1', 'PATH=/tmp', 'IFS=x',
  ];
  const long = [
    'a'.repeat(10_240),
    "'".repeat(10_240),
    `$(touch ${canary})`.repeat(Math.ceil(10_240 / (canary.length + 10))).slice(0, 10_240),
    '🙂'.repeat(2560),
    '\\'.repeat(10_240),
    '\n'.repeat(10_240),
  ];
  const combined: string[] = [];
  for (const meta of METAS) {
    combined.push(meta, `a${meta}b`, `${meta}touch ${canary}${meta}`);
  }
  payloads.forEach((p, i) => combined.push(`${METAS[i % METAS.length] ?? ''}${p}`, `-${p}`));
  return [...new Set([...payloads, ...plain, ...long, ...combined])];
}
