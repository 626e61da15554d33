/**
 * Target 3: matching 10,000 alerts against 1,000 runbooks, in process, with the catalog from dist/. The runbooks are
 * generated YAML compiled by compileRunbook: 90% `alertname = "X"` plus a severity regex (two runbooks per alertname,
 * one per severity band), 10% a regex on alertname. The alerts carry realistic label sets; about 70% match an equality
 * runbook, 10% a regex runbook, 20% nothing. Cold: a fresh catalog's first pass; warm: the same catalog again.
 */

import { labelSet } from '../../dist/core/alert.js';
import { createCatalog } from '../../dist/match/catalog.js';
import { compileRunbook } from '../../dist/match/load-runbook.js';
import { ms, nowMs, quantile, result } from './lib.mjs';

const RUNBOOKS = 1000;
const ALERTS = 10_000;
const REPEATS = 5;
const EQUAL_NAMES = 450;
const REGEX_RUNBOOKS = RUNBOOKS - EQUAL_NAMES * 2;
const FAULTS = ['oom', 'queue-backlog', 'version-mismatch', 'hung', 'down', 'gpu-xid'];

function runbookYaml(i) {
  const matchers =
    i < EQUAL_NAMES * 2
      ? [`alertname = "LLMAlert${Math.floor(i / 2)}"`, i % 2 === 0 ? 'severity =~ "critical|page"' : 'severity =~ "warning|info"']
      : [`alertname =~ "Gpu(Xid|Ecc)${i - EQUAL_NAMES * 2}(Node|Pod)?"`, 'cluster =~ "prod-.*"'];
  return [
    `name: bench-${i}`,
    `faultClass: ${FAULTS[i % FAULTS.length]}`,
    'match:',
    ...matchers.map((m) => `  - '${m}'`),
    'params:',
    "  host: { from: labels.instance, transform: host, pattern: '^[a-z0-9][a-z0-9.-]{0,252}$' }",
    'target: "{{ params.host }}"',
    'tiers:',
    '  - name: restart',
    '    steps:',
    '      - { name: restart, run: [sudo, -n, systemctl, restart, "vllm@{{ params.host }}"], timeout: 5m }',
  ].join('\n');
}

function alertName(i) {
  const k = (i * 7919) % 1000;
  if (k < 700) return `LLMAlert${k % EQUAL_NAMES}`;
  if (k < 800) return `GpuXid${k % REGEX_RUNBOOKS}${k % 2 === 0 ? 'Node' : ''}`;
  return `UnrelatedAlert${k}`;
}

function makeAlerts() {
  return Array.from({ length: ALERTS }, (_, i) => ({
    labels: labelSet(
      Object.entries({
        alertname: alertName(i),
        cluster: i % 5 === 0 ? 'staging-1' : `prod-${i % 3}`,
        instance: `gpu-${i % 512}.example.internal:8000`,
        job: 'vllm',
        model_name: `llama-3-${i % 4 === 0 ? '70b' : '8b'}`,
        namespace: 'inference',
        severity: ['critical', 'warning', 'page', 'info'][i % 4],
      }),
    ),
  }));
}

function matchAll(catalog, alerts) {
  let matched = 0;
  const t0 = nowMs();
  for (const a of alerts) matched += catalog.match(a).length;
  return { elapsed: nowMs() - t0, matched };
}

/** Runs target 3; returns its result rows. */
export async function benchMatching(log) {
  const t0 = nowMs();
  const runbooks = Array.from({ length: RUNBOOKS }, (_, i) => {
    const r = compileRunbook(`bench-${i}.yaml`, runbookYaml(i));
    if (!r.runbook) throw new Error(`runbook ${i} did not compile: ${JSON.stringify(r.errors)}`);
    return r.runbook;
  });
  const compileMs = nowMs() - t0;
  const alerts = makeAlerts();
  const cold = [];
  const warm = [];
  const build = [];
  let matched = 0;
  for (let r = 0; r < REPEATS; r++) {
    const b0 = nowMs();
    const catalog = createCatalog(runbooks);
    build.push(nowMs() - b0);
    const first = matchAll(catalog, alerts);
    cold.push(first.elapsed);
    matched = first.matched;
    warm.push(matchAll(catalog, alerts).elapsed);
  }
  const coldMed = quantile(cold, 0.5);
  const coldMax = quantile(cold, 1);
  const warmMed = quantile(warm, 0.5);
  log(`  compiling ${RUNBOOKS} runbooks from YAML: ${ms(compileMs)} (load time, not part of the target)`);
  log(`  createCatalog: median ${ms(quantile(build, 0.5))}; ${ALERTS} alerts gave ${matched} (alert, runbook) matches`);
  log(`  cold (fresh catalog, first pass), ${REPEATS} repeats: median ${ms(coldMed)}, worst ${ms(coldMax)}`);
  log(`  warm (same catalog again), ${REPEATS} repeats: median ${ms(warmMed)}, worst ${ms(quantile(warm, 1))}`);
  return [
    result('match 10k alerts x 1k runbooks, cold', ms(coldMax), '< 100 ms', coldMax < 100, `worst of ${REPEATS} fresh catalogs; median ${ms(coldMed)}`),
    result('match 10k alerts x 1k runbooks, warm', ms(warmMed), '< 100 ms', warmMed < 100, `median of ${REPEATS}`),
  ];
}
