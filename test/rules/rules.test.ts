import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, it } from '@jest/globals';
import YAML from 'yaml';
import { scaleRuleDurations } from '../../deploy/demo/scale-durations.js';
import { findBinary } from '../support/binaries.js';
import { REPO_ROOT } from '../support/service.js';
import { makeTempDir, removeTempDir } from '../support/temp-dir.js';

const RULES_DIR = path.join(REPO_ROOT, 'deploy', 'rules');
const TESTS_DIR = path.join(RULES_DIR, 'tests');
const RUNBOOKS_DIR = path.join(REPO_ROOT, 'runbooks');

/** The alerts remediator acts on, and the runbook each one's `runbook` label names. */
const ACTING: Record<string, string> = {
  LLMServerDown: 'llm-server-down',
  LLMHungServer: 'llm-hung-server',
  LLMQueueBacklog: 'llm-queue-backlog',
  GPUMemoryNearFull: 'gpu-oom',
  GPUMemoryExhaustionPredicted: 'gpu-oom',
  GPUXidError: 'gpu-xid',
  ModelVersionSkew: 'model-version-mismatch',
  ProbeFlagHigh: 'probe-flag',
};

interface Rule {
  alert?: string;
  record?: string;
  expr: string;
  labels?: Record<string, string>;
}
interface ExpAlert {
  exp_labels?: Record<string, string>;
}
interface UnitTest {
  name?: string;
  alert_rule_test?: { alertname: string; exp_alerts?: ExpAlert[] | null }[];
  promql_expr_test?: { expr: string }[];
}
interface Runbook {
  match: string[];
  params?: Record<string, { from: string; optional?: boolean }>;
}

const promtool = (): string => findBinary('PROMTOOL_BIN', ['promtool'], 'prometheus');

/** Runs promtool to completion: exit code and everything it printed. */
function runPromtool(args: string[]): { code: number | null; output: string } {
  const r = spawnSync(promtool(), args, { encoding: 'utf8', timeout: 120_000 });
  return { code: r.status, output: `${r.stdout ?? ''}${r.stderr ?? ''}${r.error ? String(r.error) : ''}` };
}

const yamlFiles = (dir: string, suffix: RegExp): string[] =>
  fs
    .readdirSync(dir)
    .filter((f) => suffix.test(f))
    .sort()
    .map((f) => path.join(dir, f));

const ruleFiles = yamlFiles(RULES_DIR, /\.ya?ml$/);
const testFiles = yamlFiles(TESTS_DIR, /\.test\.ya?ml$/);
const rules: Rule[] = ruleFiles.flatMap((f) => (YAML.parse(fs.readFileSync(f, 'utf8')) as { groups: { rules: Rule[] }[] }).groups.flatMap((g) => g.rules));
const alerts = rules.filter((r): r is Rule & { alert: string } => r.alert !== undefined);
const records = rules.filter((r): r is Rule & { record: string } => r.record !== undefined);
const unitTests: UnitTest[] = testFiles.flatMap((f) => (YAML.parse(fs.readFileSync(f, 'utf8')) as { tests: UnitTest[] }).tests);
const alertTests = unitTests.flatMap((t) => t.alert_rule_test ?? []);

function readRunbook(name: string): Runbook | null {
  const file = path.join(RUNBOOKS_DIR, `${name}.yaml`);
  return fs.existsSync(file) ? (YAML.parse(fs.readFileSync(file, 'utf8')) as Runbook) : null;
}

/** Whether a runbook's `alertname = "X"` or `alertname =~ "A|B"` matcher selects `alertname`. */
function selects(runbook: Runbook, alertname: string): boolean {
  return runbook.match.some((m) => {
    const parsed = /^\s*alertname\s*(=~|=)\s*"(.*)"\s*$/.exec(m);
    if (!parsed) return false;
    return parsed[1] === '=' ? parsed[2] === alertname : new RegExp(`^(?:${parsed[2]})$`).test(alertname);
  });
}

/** The alert labels a runbook cannot do without: its required params and its `{{ labels.X }}` templates. */
function labelsNeeded(name: string): string[] {
  const runbook = readRunbook(name);
  const text = fs.readFileSync(path.join(RUNBOOKS_DIR, `${name}.yaml`), 'utf8');
  const fromParams = Object.values(runbook?.params ?? {})
    .filter((p) => !p.optional && p.from.startsWith('labels.'))
    .map((p) => p.from.slice('labels.'.length));
  const fromTemplates = [...text.matchAll(/\{\{\s*labels\.([A-Za-z_][A-Za-z0-9_]*)\s*\}\}/g)].map((m) => m[1] as string);
  return [...new Set([...fromParams, ...fromTemplates])].sort();
}

describe('the Prometheus rules in deploy/rules', () => {
  it('are found: two rule files and four test files at least', () => {
    expect(ruleFiles.length).toBeGreaterThanOrEqual(2);
    expect(testFiles.length).toBeGreaterThanOrEqual(4);
    expect(alerts.length).toBeGreaterThan(10);
  });

  it.each(ruleFiles.map((f) => [path.relative(REPO_ROOT, f), f]))('promtool check rules accepts %s', (_name, file) => {
    expect({ file, ...runPromtool(['check', 'rules', file]) }).toEqual({ file, code: 0, output: expect.stringContaining('SUCCESS') });
  });

  it.each(testFiles.map((f) => [path.relative(REPO_ROOT, f), f]))('promtool test rules passes %s', (_name, file) => {
    const result = runPromtool(['test', 'rules', file]);
    expect({ file, ...result }).toEqual({ file, code: 0, output: expect.stringContaining('SUCCESS') });
    expect(result.output).not.toContain('FAILED');
  });

  it('give every alert a case that fires and a case that stays quiet', () => {
    const fires = new Set(alertTests.filter((t) => (t.exp_alerts ?? []).length > 0).map((t) => t.alertname));
    const quiet = new Set(alertTests.filter((t) => (t.exp_alerts ?? []).length === 0).map((t) => t.alertname));
    const missing = alerts.flatMap((a) => [...(fires.has(a.alert) ? [] : [`${a.alert}: no firing case`]), ...(quiet.has(a.alert) ? [] : [`${a.alert}: no quiet case`])]);
    expect(missing).toEqual([]);
    // and test no alert that does not exist
    const names = new Set(alerts.map((a) => a.alert));
    expect(alertTests.map((t) => t.alertname).filter((n) => !names.has(n))).toEqual([]);
  });

  it('check the value of every recording rule in a promql_expr_test', () => {
    const exprs = unitTests.flatMap((t) => t.promql_expr_test ?? []).map((t) => t.expr);
    const unchecked = records.map((r) => r.record).filter((name) => !exprs.some((e) => new RegExp(`(^|[^A-Za-z0-9_:])${name.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}($|[^A-Za-z0-9_:])`).test(e)));
    expect(unchecked).toEqual([]);
  });

  it('give every alert a kebab-case runbook label, and name a shipped runbook only on the alerts it acts on', () => {
    const named = Object.fromEntries(alerts.filter((a) => readRunbook(a.labels?.runbook ?? '') !== null).map((a) => [a.alert, a.labels?.runbook]));
    expect(named).toEqual(ACTING);
    expect(alerts.filter((a) => !/^[a-z0-9]+(-[a-z0-9]+)*$/.test(a.labels?.runbook ?? '')).map((a) => a.alert)).toEqual([]);
  });

  it.each(Object.entries(ACTING))('%s names runbooks/%s.yaml, which matches it', (alertname, name) => {
    const runbook = readRunbook(name);
    expect(runbook).not.toBeNull();
    expect(selects(runbook as Runbook, alertname)).toBe(true);
  });

  it.each(Object.entries(ACTING))('every firing case of %s carries the labels runbooks/%s.yaml reads', (alertname, name) => {
    const needed = labelsNeeded(name);
    const fired = alertTests.filter((t) => t.alertname === alertname).flatMap((t) => t.exp_alerts ?? []);
    expect(fired.length).toBeGreaterThan(0);
    for (const alert of fired) expect({ alertname, lacks: needed.filter((l) => !(l in (alert.exp_labels ?? {}))) }).toEqual({ alertname, lacks: [] });
  });

  it('feed gpu-oom-ramp.test.yml exactly the rows of the real H100 capture (oom-ramp-series.mjs)', () => {
    const r = spawnSync(process.execPath, [path.join(TESTS_DIR, 'oom-ramp-series.mjs')], { encoding: 'utf8' });
    expect({ code: r.status, stderr: r.stderr }).toEqual({ code: 0, stderr: '' });
    const block = r.stdout.trimEnd();
    expect(block.split('\n').length).toBe(7);
    expect(fs.readFileSync(path.join(TESTS_DIR, 'gpu-oom-ramp.test.yml'), 'utf8')).toContain(block);
    // the capture's memory.used column, verbatim and in order
    const csv = fs.readFileSync(path.join(REPO_ROOT, 'test', 'fixtures', 'gpu', 'series-oom-ramp.csv'), 'utf8').trim().split('\n').slice(1);
    expect(/FB_USED[^\n]*\n\s*values: '([^']*)'/.exec(block)?.[1]).toBe(csv.map((l) => l.split(',')[3]?.trim()).join(' '));
  });
});

describe('the rules scaled for the rehearsal', () => {
  const dir = makeTempDir('scaled-rules');
  afterAll(() => removeTempDir(dir));

  it.each(ruleFiles.map((f) => [path.basename(f), f]))('%s scaled by 0.1 still passes promtool check rules', (name, file) => {
    const scaled = scaleRuleDurations(fs.readFileSync(file, 'utf8'), 0.1);
    expect(scaled).not.toBe(fs.readFileSync(file, 'utf8'));
    const out = path.join(dir, name);
    fs.writeFileSync(out, scaled);
    expect({ file: out, ...runPromtool(['check', 'rules', out]) }).toEqual({ file: out, code: 0, output: expect.stringContaining('SUCCESS') });
  });
});
