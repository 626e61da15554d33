/**
 * Time scaling for the rehearsal: the same rules and PromQL, with every duration multiplied by
 * a factor (0.1: `for: 1m` becomes 6s, `[2m]` becomes 12s, `offset 1d` becomes 2h24m).
 */
import YAML, { isMap, isScalar, isSeq, type Node } from 'yaml';

const UNITS: Record<string, number> = { y: 31_536_000, w: 604_800, d: 86_400, h: 3_600, m: 60, s: 1, ms: 0.001 };
const DURATION = /^(?:\d+(?:ms|[ywdhms]))+$/;
const PART = /(\d+)(ms|[ywdhms])/g;

function seconds(text: string): number | null {
  if (!DURATION.test(text)) return null;
  let total = 0;
  for (const [, n, unit] of text.matchAll(PART)) total += Number(n) * (UNITS[unit ?? 's'] ?? 1);
  return total;
}

function format(total: number): string {
  let left = Math.round(total);
  let out = '';
  for (const [unit, size] of [['d', 86_400], ['h', 3_600], ['m', 60], ['s', 1]] as const) {
    const n = Math.floor(left / size);
    if (n > 0) out += `${n}${unit}`;
    left -= n * size;
  }
  return out || '0s';
}

/** One Prometheus duration scaled, in whole seconds and at least `floorSeconds`; text that is no duration stays as it is. */
export function scaleDuration(text: string, factor: number, floorSeconds = 2): string {
  const s = seconds(text);
  if (s === null || s === 0) return text;
  return format(Math.max(floorSeconds, Math.round(s * factor)));
}

/** Every `[range]`, `[range:step]` and `offset d` of a PromQL expression scaled. */
export function scalePromql(expr: string, factor: number, floorSeconds = 2): string {
  return expr
    .replace(/\[\s*([0-9a-z]+)\s*(?::\s*([0-9a-z]*)\s*)?\]/g, (whole: string, range: string, step?: string) => {
      if (seconds(range) === null) return whole;
      const scaled = scaleDuration(range, factor, floorSeconds);
      return step === undefined ? `[${scaled}]` : `[${scaled}:${step ? scaleDuration(step, factor, 1) : ''}]`;
    })
    .replace(/\boffset\s+(-?)([0-9a-z]+)/g, (whole: string, sign: string, d: string) => (seconds(d) === null ? whole : `offset ${sign}${scaleDuration(d, factor, floorSeconds)}`));
}

function scaleNode(node: Node | null, key: string | null, factor: number, floor: number): void {
  if (isMap(node)) for (const pair of node.items) scaleNode(pair.value as Node | null, isScalar(pair.key) ? String(pair.key.value) : null, factor, floor);
  else if (isSeq(node)) for (const item of node.items) scaleNode(item as Node | null, null, factor, floor);
  else if (isScalar(node) && typeof node.value === 'string') {
    if (key === 'for' || key === 'keep_firing_for' || key === 'interval') node.value = scaleDuration(node.value, factor, floor);
    else if (key === 'expr') node.value = scalePromql(node.value, factor, floor);
  }
}

/** A rule file's text with every `for:`, group `interval:` and PromQL duration scaled. */
export function scaleRuleDurations(ruleFileText: string, factor: number, floorSeconds = 2): string {
  const doc = YAML.parseDocument(ruleFileText);
  if (doc.errors.length > 0) throw new Error(doc.errors.map((e) => e.message).join('\n'));
  scaleNode(doc.contents as Node | null, null, factor, floorSeconds);
  return doc.toString({ lineWidth: 0 });
}
