/** Alertmanager webhook bodies for the benchmarks, made from the real Alertmanager 0.25 fixture. */

import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const FIXTURE = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..', 'test', 'fixtures', 'alertmanager', 'alertmanager-0.25-firing.json');

/** The real Alertmanager 0.25 firing body the benchmarks vary. */
export function loadFixture() {
  return JSON.parse(fs.readFileSync(FIXTURE, 'utf8'));
}

/** A 16-hex-digit fingerprint, unique per (prefix, n). */
export function fingerprintOf(prefix, n) {
  let h = 0x811c9dc5;
  for (const ch of `${prefix}:${n}`) h = Math.imul(h ^ ch.charCodeAt(0), 0x01000193) >>> 0;
  return h.toString(16).padStart(8, '0') + (n >>> 0).toString(16).padStart(8, '0');
}

/**
 * The fixture's body for one alert episode: its own instance (so its own run target), fingerprint and startsAt.
 * The rest (receiver, group labels, annotations, generatorURL...) is the fixture's, as Alertmanager sends it.
 */
export function episodeBody(fixture, prefix, n) {
  const instance = `gpu-${prefix}-${n}.bench.internal:8000`;
  const body = structuredClone(fixture);
  const alert = body.alerts[0];
  alert.labels.instance = instance;
  alert.annotations.summary = `probe_flag is 1 on ${instance}`;
  alert.fingerprint = fingerprintOf(prefix, n);
  alert.startsAt = '2026-11-26T14:31:52.553Z';
  body.commonLabels.instance = instance;
  body.commonAnnotations.summary = alert.annotations.summary;
  return JSON.stringify(body);
}

/** The runbook the service benchmarks load: it matches the fixture's alert, one run per instance, no fleet breaker in the way. */
export function probeRunbook(name, steps, extra = '') {
  return [
    `name: ${name}`,
    'faultClass: hung',
    'match:',
    '  - alertname = "ProbeFlagHigh"',
    '  - severity =~ "critical|page"',
    'params:',
    "  host: { from: labels.instance, transform: host, pattern: '^[a-z0-9][a-z0-9.-]{0,252}$' }",
    'target: "{{ params.host }}"',
    // The benchmarks spread alerts over thousands of targets on purpose: a fleet breaker would stop them at the sixth.
    'safety: { fleetBreaker: { maxTargets: 1000000, per: 1m } }',
    extra,
    'tiers:',
    '  - name: only',
    '    steps:',
    ...steps.map((s) => `      - ${s}`),
  ].join('\n');
}
