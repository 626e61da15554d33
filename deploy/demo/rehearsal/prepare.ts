/**
 * The shipped runbooks and rules, as the rehearsal runs them: unchanged but for configuration.
 * `mode` becomes enforce, the gateway's address becomes the fleet's, and every duration (and
 * every PromQL range and offset) is multiplied by the time scale, so that a rehearsal of six
 * fault classes takes minutes. Nothing else is touched: what is rehearsed is what ships.
 */
import fs from 'node:fs';
import path from 'node:path';
import YAML, { isMap, isScalar, isSeq, type Node } from 'yaml';
import { formatDuration, parseDuration } from '../../../src/core/duration.js';
import { scalePromql, scaleRuleDurations } from '../scale-durations.js';

/** How the shipped files are adapted. */
export interface Adaptation {
  /** Base URL of the fleet's gateway, put where the runbooks say http://llm-gateway:8080. */
  readonly gatewayUrl: string;
  /** Every duration is multiplied by this (0.1: a minute becomes 6 s). */
  readonly timeScale: number;
  /**
   * Multiplies the attempt budget's window (`maxAttempts.per`) instead of `timeScale` (default:
   * `timeScale`). Scaled down, the window holds less slack for the runs themselves, whose steps'
   * timeouts and the real time of SSH and model loading are not scaled: a case that spends the
   * budget on a loaded machine gives the window more room, so the runs are not aged out of it.
   */
  readonly budgetWindowScale?: number;
}

/** Where the shipped runbooks name the gateway. */
export const SHIPPED_GATEWAY = 'http://llm-gateway:8080';

// Keys whose values are durations; `timeout` is a bound, not a wait, and stays as shipped.
const DURATION_KEYS = new Set(['cooldown', 'waitFor', 'maxPendingAge', 'per', 'every', 'within', 'stableFor', 'wait', 'approvalTimeout']);
const FLOOR_MS = 1000;

function scaleDuration(text: string, scale: number): string {
  const ms = parseDuration(text);
  if (ms === null || ms === 0) return text;
  return formatDuration(Math.max(FLOOR_MS, Math.round((ms * scale) / 1000) * 1000));
}

function adaptNode(node: Node | null, key: string | null, a: Adaptation, parent: string | null = null): void {
  if (isMap(node)) {
    for (const pair of node.items) adaptNode(pair.value as Node | null, isScalar(pair.key) ? String(pair.key.value) : null, a, key);
  } else if (isSeq(node)) {
    for (const item of node.items) adaptNode(item as Node | null, null, a, key);
  } else if (isScalar(node) && typeof node.value === 'string') {
    if (key === 'per' && parent === 'maxAttempts') node.value = scaleDuration(node.value, a.budgetWindowScale ?? a.timeScale);
    else if (key !== null && DURATION_KEYS.has(key)) node.value = scaleDuration(node.value, a.timeScale);
    else if (key === 'promql') node.value = scalePromql(node.value, a.timeScale);
    else if (node.value.includes(SHIPPED_GATEWAY)) node.value = node.value.split(SHIPPED_GATEWAY).join(a.gatewayUrl);
  }
}

/** One shipped runbook's text as the rehearsal runs it. */
export function adaptRunbook(text: string, a: Adaptation): string {
  const doc = YAML.parseDocument(text);
  if (doc.errors.length > 0) throw new Error(doc.errors.map((e) => e.message).join('\n'));
  // An aliased step is one node, reached once at its anchor: it is adapted once, wherever it is used.
  adaptNode(doc.contents as Node | null, null, a);
  doc.set('mode', 'enforce');
  return doc.toString({ lineWidth: 0 });
}

/** Writes every shipped runbook of `from`, adapted, into `to`; returns their names. */
export function writeRunbooks(from: string, to: string, a: Adaptation, only?: readonly string[]): string[] {
  fs.mkdirSync(to, { recursive: true });
  const names: string[] = [];
  for (const file of fs.readdirSync(from).filter((f) => /\.ya?ml$/.test(f)).sort()) {
    const name = file.replace(/\.ya?ml$/, '');
    if (only && !only.includes(name)) continue;
    fs.writeFileSync(path.join(to, file), adaptRunbook(fs.readFileSync(path.join(from, file), 'utf8'), a));
    names.push(name);
  }
  return names;
}

/** The shipped alert rules, time-scaled, as one rule file's text. */
export function adaptRules(files: readonly string[], a: Pick<Adaptation, 'timeScale'>): string {
  const groups: unknown[] = [];
  for (const file of files) {
    const scaled = YAML.parse(scaleRuleDurations(fs.readFileSync(file, 'utf8'), a.timeScale)) as { groups?: unknown[] };
    groups.push(...(scaled.groups ?? []));
  }
  return YAML.stringify({ groups });
}
