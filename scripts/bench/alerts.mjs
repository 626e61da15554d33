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
 * `alertname` replaces the fixture's ProbeFlagHigh (in the alert, the group and the common labels), e.g. to make an
 * alert no runbook matches.
 */
export function episodeBody(fixture, prefix, n, alertname = undefined) {
  const instance = `gpu-${prefix}-${n}.bench.internal:8000`;
  const body = structuredClone(fixture);
  body.alerts[0] = episodeAlert(body.alerts[0], prefix, n, alertname);
  body.commonLabels.instance = instance;
  body.commonAnnotations.summary = body.alerts[0].annotations.summary;
  if (alertname !== undefined) {
    body.commonLabels.alertname = alertname;
    body.groupLabels.alertname = alertname;
    body.groupKey = `{}:{alertname="${alertname}"}`;
  }
  return JSON.stringify(body);
}

/**
 * A fast maker of episodeBody(fixture, prefix, n, alertname) for any n (the same text, a few us instead of about 20): the
 * body of episode 0 cut where the instance and the fingerprint go. The load generator makes one body per request, and
 * its CPU is taken from the server's on a small machine, so it should cost the same in every kind of load.
 */
export function episodeBodies(fixture, prefix, alertname = undefined) {
  const instance0 = `gpu-${prefix}-0.bench.internal:8000`;
  const fingerprint0 = fingerprintOf(prefix, 0);
  const pieces = episodeBody(fixture, prefix, 0, alertname).split(`"${fingerprint0}"`).map((part) => part.split(instance0));
  return (n) => {
    const instance = `gpu-${prefix}-${n}.bench.internal:8000`;
    return pieces.map((parts) => parts.join(instance)).join(`"${fingerprintOf(prefix, n)}"`);
  };
}

/** One alert of the fixture made into episode n of `prefix`: its own instance, fingerprint and startsAt. */
function episodeAlert(template, prefix, n, alertname) {
  const instance = `gpu-${prefix}-${n}.bench.internal:8000`;
  const alert = structuredClone(template);
  if (alertname !== undefined) alert.labels.alertname = alertname;
  alert.labels.instance = instance;
  alert.annotations.summary = `probe_flag is 1 on ${instance}`;
  alert.fingerprint = fingerprintOf(prefix, n);
  alert.startsAt = '2026-11-26T14:31:52.553Z';
  return alert;
}

/**
 * One group body carrying `count` alerts, as Alertmanager sends a big group: every alert its own episode (instance,
 * fingerprint) of `alertname`, grouped by alertname, so the common labels are only the ones all alerts share.
 */
export function groupBody(fixture, prefix, count, alertname) {
  const body = structuredClone(fixture);
  body.alerts = Array.from({ length: count }, (_, n) => episodeAlert(fixture.alerts[0], prefix, n, alertname));
  const { instance: _instance, ...common } = fixture.commonLabels;
  body.commonLabels = { ...common, alertname };
  body.commonAnnotations = {};
  body.groupLabels = { alertname };
  body.groupKey = `{}:{alertname="${alertname}"}`;
  return JSON.stringify(body);
}

/**
 * The runbook the service benchmarks load: it matches the fixture's alert (or the given alertname instead), one run
 * per instance, no fleet breaker in the way.
 */
export function probeRunbook(name, steps, extra = '', alertname = 'ProbeFlagHigh') {
  return [
    `name: ${name}`,
    'faultClass: hung',
    'match:',
    `  - alertname = "${alertname}"`,
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
