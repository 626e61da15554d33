/** The Alertmanager webhook body (version "4"): checked for what remediator uses, unknown fields ignored. */

import { labelSet, type Alert, type LabelSet } from '../core/alert.js';
import { RemediatorError } from '../core/errors.js';
import { canonicalInstant } from '../core/instant.js';

const LABEL_NAME = /^[a-zA-Z_][a-zA-Z0-9_]*$/;
const FINGERPRINT = /^[0-9a-f]{1,64}$/;
const MAX_ALERTS = 10_000;

export interface WebhookBody {
  readonly groupKey: string;
  readonly receiver: string;
  readonly status: 'firing' | 'resolved';
  readonly alerts: readonly Alert[];
}

function bad(message: string): RemediatorError {
  return new RemediatorError('BAD_PAYLOAD', message);
}

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function stringMap(v: unknown, where: string, checkNames: boolean): LabelSet {
  if (!isPlainObject(v)) throw bad(`${where} must be an object of strings`);
  const entries: [string, string][] = [];
  for (const key of Object.keys(v)) {
    if (key === '__proto__') throw bad(`${where} has the forbidden key "__proto__"`);
    if (checkNames && !LABEL_NAME.test(key)) throw bad(`${where} has an invalid label name ${JSON.stringify(key.slice(0, 100))}`);
    const value = v[key];
    if (typeof value !== 'string') throw bad(`${where}.${key} must be a string`);
    entries.push([key, value]);
  }
  return labelSet(entries);
}

function str(v: unknown, where: string): string {
  if (typeof v !== 'string') throw bad(`${where} must be a string`);
  return v;
}

function status(v: unknown, where: string): 'firing' | 'resolved' {
  if (v !== 'firing' && v !== 'resolved') throw bad(`${where} must be "firing" or "resolved"`);
  return v;
}

function parseAlert(v: unknown, i: number): Alert {
  const where = `alerts[${i}]`;
  if (!isPlainObject(v)) throw bad(`${where} must be an object`);
  // One instant, one spelling: the episode key compares instants, whatever offset or fraction digits a sender used.
  const startsAt = canonicalInstant(str(v.startsAt, `${where}.startsAt`));
  if (startsAt === null) throw bad(`${where}.startsAt must be an RFC 3339 time that names a real instant`);
  const fingerprint = str(v.fingerprint, `${where}.fingerprint`);
  if (!FINGERPRINT.test(fingerprint)) throw bad(`${where}.fingerprint must be lowercase hex`);
  const labels = stringMap(v.labels, `${where}.labels`, true);
  return Object.freeze({
    status: status(v.status, `${where}.status`),
    labels,
    annotations: v.annotations === undefined ? labelSet([]) : stringMap(v.annotations, `${where}.annotations`, false),
    startsAt,
    endsAt: typeof v.endsAt === 'string' ? v.endsAt : '',
    generatorURL: typeof v.generatorURL === 'string' ? v.generatorURL : '',
    fingerprint,
  });
}

/** Parses raw body text; throws BAD_JSON, UNSUPPORTED_VERSION or BAD_PAYLOAD with the offending field named. */
export function parseWebhookBody(text: string): WebhookBody {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (err) {
    throw new RemediatorError('BAD_JSON', `the body is not valid JSON: ${(err as Error).message}`, { cause: err });
  }
  if (!isPlainObject(raw)) throw bad('the body must be a JSON object');
  if (raw.version !== '4') {
    throw new RemediatorError('UNSUPPORTED_VERSION', `payload version must be "4", got ${JSON.stringify(raw.version ?? null)}`);
  }
  if (!Array.isArray(raw.alerts)) throw bad('alerts must be an array');
  if (raw.alerts.length > MAX_ALERTS) throw bad(`alerts holds more than ${MAX_ALERTS} alerts`);
  const alerts = raw.alerts.map((a, i) => parseAlert(a, i));
  return {
    groupKey: typeof raw.groupKey === 'string' ? raw.groupKey : '',
    receiver: typeof raw.receiver === 'string' ? raw.receiver : '',
    status: status(raw.status, 'status'),
    alerts,
  };
}
