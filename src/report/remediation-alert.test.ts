import { describe, it, expect } from '@jest/globals';
import { labelSet } from '../core/alert.js';
import { remediationAlert, remediationLabels, type RemediationAlertFacts } from './remediation-alert.js';

const FACTS: RemediationAlertFacts = {
  alertname: 'RemediationFailed',
  labels: labelSet(Object.entries({ alertname: 'LLMServerDown', instance: 'gpu-1:8000', reason: 'theirs', runbook: 'theirs' })),
  runbook: 'llm-server-down',
  faultClass: 'down',
  target: 'gpu-1',
  reason: 'failed',
  runId: 'RUN1',
  summary: 'it failed',
};

describe('remediationLabels', () => {
  it.each<[string, Partial<RemediationAlertFacts>, Record<string, string>]>([
    [
      'replaces alertname, keeps the original, and overrides same-named labels',
      {},
      { alertname: 'RemediationFailed', original_alertname: 'LLMServerDown', instance: 'gpu-1:8000', runbook: 'llm-server-down', fault_class: 'down', target: 'gpu-1', reason: 'failed' },
    ],
    [
      'leaves out a fault class and a target it does not know',
      { faultClass: null, target: null },
      { alertname: 'RemediationFailed', original_alertname: 'LLMServerDown', instance: 'gpu-1:8000', runbook: 'llm-server-down', reason: 'failed' },
    ],
    [
      'leaves out original_alertname when the alert had none',
      { labels: labelSet([['instance', 'gpu-1:8000']]), alertname: 'RemediationAwaitingApproval', reason: 'awaiting_approval' },
      { alertname: 'RemediationAwaitingApproval', instance: 'gpu-1:8000', runbook: 'llm-server-down', fault_class: 'down', target: 'gpu-1', reason: 'awaiting_approval' },
    ],
  ])('%s', (_what, over, expected) => {
    expect(remediationLabels({ ...FACTS, ...over })).toEqual(expected);
  });
});

describe('remediationAlert', () => {
  it('links the run in run_url and generatorURL, without a double slash after the public URL', () => {
    const alert = remediationAlert(FACTS, 'http://r.example:9095/', '2030-01-01T00:00:00.000Z');
    expect(alert).toMatchObject({ annotations: { summary: 'it failed', run_url: 'http://r.example:9095/runs/RUN1' }, generatorURL: 'http://r.example:9095/runs/RUN1', endsAt: '2030-01-01T00:00:00.000Z' });
  });

  it('links the runbook when there is no run', () => {
    const alert = remediationAlert({ ...FACTS, runId: null }, 'http://r.example:9095', '2030-01-01T00:00:00.000Z');
    expect(alert.annotations).toEqual({ summary: 'it failed', runbook_url: 'http://r.example:9095/runbooks/llm-server-down' });
  });
});
