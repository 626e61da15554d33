import { describe, expect, it } from '@jest/globals';
import type { StepRecord } from '../core/run.js';
import { stepView } from './step-view.js';

const base: StepRecord = {
  name: 'restart',
  kind: 'run',
  phase: 'steps',
  state: 'failed',
  argv: ['systemctl', 'restart', 'vllm@a b'],
  host: null,
  exitCode: 1,
  signal: null,
  timedOut: false,
  stoppedBy: null,
  stdout: 'line 1\n<b>bold</b>\n',
  stderr: '',
  stdoutTruncated: true,
  stderrTruncated: false,
  error: null,
  evidence: null,
  attempts: 2,
  startedAt: '2026-11-26T14:00:00.000Z',
  endedAt: '2026-11-26T14:01:30.000Z',
};

describe('stepView', () => {
  it('shows each argument apart, the exit code, attempts, duration and escaped output marked as truncated', () => {
    const out = stepView(base, undefined).toString();
    expect(out).toContain('<code>systemctl</code> <code>restart</code> <code>vllm@a b</code>');
    expect(out).toContain('<dt>exit code</dt><dd>1</dd>');
    expect(out).toContain('<dt>attempts</dt><dd>2</dd>');
    expect(out).toContain('<dt>took</dt><dd>1m30s</dd>');
    expect(out).toContain('<pre class="stdout">line 1\n&lt;b&gt;bold&lt;/b&gt;\n</pre><p class="warn">stdout truncated');
    expect(out).not.toContain('class="stderr"');
  });

  it('shows a GPU capture as tables and other evidence as escaped JSON', () => {
    const gpu = { gpus: [{ index: 0, uuid: 'GPU-1', name: 'NVIDIA H100 80GB HBM3', memoryUsedMiB: 1, memoryTotalMiB: 81559 }], processes: [] };
    const capture = stepView({ ...base, kind: 'capture', argv: null, evidence: gpu }, { name: 'restart', kind: 'capture', capture: 'gpu', timeoutMs: 1000, until: null, continueOnError: false, idempotent: false }).toString();
    expect(capture).toContain('<table class="gpus">');
    expect(capture).toContain('capture gpu');
    const other = stepView({ ...base, kind: 'http', argv: null, host: 'http://10.0.0.1:8000/health', evidence: { body: '</pre><script>x</script>' } }, undefined).toString();
    expect(other).toContain('&lt;/pre&gt;&lt;script&gt;x&lt;/script&gt;');
    expect(other).toContain('<dd>http://10.0.0.1:8000/health</dd>');
  });

  it('leaves out what a step that never ran cannot have', () => {
    const out = stepView({ ...base, state: 'pending', exitCode: null, attempts: 0, startedAt: null, endedAt: null, stdout: '', stdoutTruncated: false }, undefined).toString();
    expect(out).not.toContain('exit code');
    expect(out).not.toContain('attempts');
    expect(out).toContain('<span class="state s-pending">pending</span>');
  });
});
