/**
 * `npm run rehearse` end to end: the shipped runbooks, enforced, against the simulated fleet on
 * real Prometheus, Alertmanager and sshd. One run of the command rehearses all six fault
 * classes; the tests read its JSON rows and the detail of every episode.
 */
import { beforeAll, describe, expect, it } from '@jest/globals';
import { execa } from 'execa';
import fs from 'node:fs';
import path from 'node:path';
import type { Episode, RehearsalRow } from '../../deploy/demo/rehearsal/episode.js';
import type { RunDetail } from '../../deploy/demo/rehearsal/remediator-api.js';
import { defaultChildEnv } from '../support/child.js';
import { REPO_ROOT } from '../support/service.js';
import { makeTempDir } from '../support/temp-dir.js';

const KEYS = [
  'faultClass', 'runbook', 'runId', 'runState', 'verified', 'escalated', 'detectSeconds', 'remediateSeconds',
  'mttrSeconds', 'remediatorSeconds', 'clientRequests', 'clientFailures', 'fallbacks', 'restarts',
];
const CLASSES = ['hung', 'down', 'oom', 'queue-backlog', 'version-mismatch', 'gpu-xid'];

let rows: RehearsalRow[] = [];
let episodes = new Map<string, Episode>();
let output = '';

function episode(faultClass: string): Episode {
  const e = episodes.get(faultClass);
  if (!e) throw new Error(`no episode for ${faultClass}\n${output}`);
  return e;
}

function step(run: RunDetail | null, tier: number, name: string): RunDetail['tiers'][number]['steps'][number] {
  const s = run?.tiers[tier]?.steps.find((x) => x.name === name);
  if (!s) throw new Error(`run ${run?.id ?? '(none)'} has no step ${name} in tier ${tier}`);
  return s;
}

const at = (iso: string | null | undefined): number => Date.parse(iso ?? '');

beforeAll(async () => {
  const dir = makeTempDir('rehearse-test');
  const json = path.join(dir, 'rows.json');
  const detail = path.join(dir, 'detail.json');
  const result = await execa('node', [path.join(REPO_ROOT, 'build/demo/deploy/demo/rehearse.js'), '--json', json, '--detail', detail], {
    cwd: REPO_ROOT,
    env: defaultChildEnv(),
    extendEnv: false,
    reject: false,
    all: true,
    timeout: 14 * 60_000,
  });
  output = `exit ${result.exitCode}\n${result.all ?? ''}`;
  rows = fs.existsSync(json) ? (JSON.parse(fs.readFileSync(json, 'utf8')) as RehearsalRow[]) : [];
  const list = fs.existsSync(detail) ? (JSON.parse(fs.readFileSync(detail, 'utf8')) as Episode[]) : [];
  episodes = new Map(list.map((e) => [e.row.faultClass, e]));
}, 15 * 60_000);

describe('npm run rehearse', () => {
  it('completes all six fault classes and writes one JSON object per class with the documented keys', () => {
    expect([rows.map((r) => r.faultClass), output.includes('| fault class')]).toEqual([CLASSES, true]);
    for (const r of rows) expect(Object.keys(r).sort()).toEqual([...KEYS].sort());
  });

  it('ends every run succeeded and verified, except gpu-xid, which ends cordoned, approved and escalated', () => {
    const outcome = rows.map((r) => [r.faultClass, r.runState, r.verified, r.escalated]);
    expect(outcome).toEqual(CLASSES.map((c) => (c === 'gpu-xid' ? [c, 'failed', false, true] : [c, 'succeeded', true, false])));
    const xid = episode('gpu-xid');
    expect(xid.run?.approvedBy).toBeTruthy();
    expect(xid.run?.tiers.map((t) => t.name)).toEqual(['cordon', 'reset-gpu']);
    expect(xid.replicasAfter.filter((r) => r.drained).map((r) => r.host)).toEqual(['127.0.10.1']);
  });

  it('measures detection, remediation and MTTR for every class', () => {
    for (const r of rows) {
      expect([r.faultClass, r.detectSeconds !== null && r.detectSeconds > 0, r.remediateSeconds !== null && r.remediateSeconds > 0]).toEqual([r.faultClass, true, true]);
      if (r.faultClass !== 'gpu-xid') expect([r.faultClass, (r.mttrSeconds ?? 0) >= (r.detectSeconds ?? Infinity)]).toEqual([r.faultClass, true]);
    }
  });

  it('recovers a hung engine with no failed client request, draining it before it stops and undraining it after its warm-up answered', () => {
    const hung = episode('hung');
    expect(hung.row.clientFailures).toBe(0);
    expect(hung.row.clientRequests).toBeGreaterThan(20);
    const replica = hung.run?.target ?? '';
    const drainedAt = hung.gatewayEvents.find((e) => e.kind === 'drain' && e.replica === replica)?.at;
    const stoppedAt = hung.fleetEvents.find((e) => e.kind === 'unit-stop' && e.host === 'gpu-3')?.at;
    const undrainedAt = hung.gatewayEvents.filter((e) => e.kind === 'undrain' && e.replica === replica).at(-1)?.at;
    const warmedAt = step(hung.run, 0, 'warm-up').endedAt;
    expect([drainedAt !== undefined, stoppedAt !== undefined, undrainedAt !== undefined]).toEqual([true, true, true]);
    expect(at(drainedAt)).toBeLessThan(at(stoppedAt));
    expect(at(undrainedAt)).toBeGreaterThanOrEqual(at(warmedAt));
    expect(step(hung.run, 0, 'warm-up').state).toBe('succeeded');
  });

  it('restarts a recurring out-of-memory crash, then restarts it with lowered memory settings, which holds', () => {
    const oom = episode('oom');
    expect(oom.run?.tiers.map((t) => [t.name, t.verified])).toEqual([['graceful-restart', false], ['lower-memory', true]]);
    expect(step(oom.run, 0, 'restart').state).toBe('succeeded');
    expect(step(oom.run, 1, 'lower-memory-settings').state).toBe('succeeded');
    expect(oom.fleetEvents.filter((e) => e.kind === 'unit-start' && e.host === 'gpu-1').length).toBeGreaterThanOrEqual(2);
  });

  it('drains a queue backlog without restarting any engine', () => {
    const backlog = episode('queue-backlog');
    expect(backlog.row.restarts).toBe(0);
    expect(backlog.fleetEvents.filter((e) => e.kind === 'unit-start' || e.kind === 'unit-stop')).toEqual([]);
    expect([backlog.run?.state, backlog.row.verified]).toEqual(['succeeded', true]);
  });

  it('rolls only the odd replica of a three-replica model back to the fleet version, and the versions converge', () => {
    const skew = episode('version-mismatch');
    const touched = new Set(skew.fleetEvents.filter((e) => e.kind === 'unit-start' || e.kind === 'unit-stop').map((e) => e.host));
    expect([...touched]).toEqual(['gpu-2']);
    expect(new Set(skew.runs.map((r) => r.target))).toEqual(new Set([skew.run?.target]));
    expect(new Set(skew.replicasAfter.map((r) => r.version))).toEqual(new Set(['0.11.0']));
    expect(skew.replicasAfter).toHaveLength(3);
  });
});
