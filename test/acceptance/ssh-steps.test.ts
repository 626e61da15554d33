/** SSH steps through the whole service against a private OpenSSH server: results recorded, dead hosts fail over to the next tier. */

import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { stopAll } from '../support/child.js';
import { startSilentTcpServer, startSshd, type TestSshd } from '../support/sshd.js';
import { eventually, startInProcess, webhookBody, type InProcess } from './in-process.js';

let sshd: TestSshd;
let silent: Awaited<ReturnType<typeof startSilentTcpServer>>;
let env: InProcess;

interface StepJson {
  name: string;
  state: string;
  host: string | null;
  exitCode: number | null;
  stdout: string;
  stderr: string;
  startedAt: string | null;
  endedAt: string | null;
  error: { code: string; message: string } | null;
}
interface RunJson {
  state: string;
  reason: string | null;
  tiers: { name: string; state: string; steps: StepJson[] }[];
}

beforeAll(async () => {
  sshd = await startSshd();
  silent = await startSilentTcpServer();
  env = await startInProcess(
    {
      'remote.yaml': `name: remote
faultClass: test
description: a remote step whose exit code, stdout and stderr are recorded
match:
  - alertname = "Remote"
params:
  host: { from: labels.instance, transform: host, pattern: '[0-9.]+' }
  model: { from: labels.model, pattern: '[a-z0-9-]+' }
target: "{{ params.host }}"
ssh: { port: ${sshd.port} }
tiers:
  - name: instance
    steps:
      - name: report
        script: |
          echo "model $PARAM_MODEL on $(hostname)"
          echo "to stderr" >&2
          exit 3
        continueOnError: true
      - name: argv
        run: [printf, "%s|", "{{ params.model }}", "two words"]
`,
      'failover.yaml': `name: failover
faultClass: test
description: the first tier's host never speaks SSH; the second tier's does
match:
  - alertname = "Failover"
params:
  host: { from: labels.instance, transform: host, pattern: '[0-9.]+' }
target: "{{ params.host }}"
tiers:
  - name: dead-host
    ssh: { port: ${silent.port} }
    steps:
      - name: hangs-at-connect
        run: ["true"]
  - name: live-host
    ssh: { port: ${sshd.port} }
    steps:
      - name: answers
        run: [echo, reached]
`,
    },
    `ssh: { user: ${sshd.user}, privateKeyFile: ${sshd.privateKeyFile}, knownHostsFile: ${sshd.knownHostsFile}, connectTimeout: 2s, allowHosts: ["127.0.0.0/8"] }`,
  );
}, 60_000);

afterAll(async () => {
  await env?.close();
  await silent?.stop();
  await sshd?.stop();
  await stopAll();
});

async function runOf(alertname: string, i: number, labels: Record<string, string> = {}): Promise<RunJson> {
  const body = webhookBody([{ labels: { alertname, instance: '127.0.0.1:9100', ...labels }, fingerprint: (0xe000 + i).toString(16).padStart(16, '0') }]);
  const res = await env.api('POST', '/api/v1/alerts', body);
  const id = (res.json as { runs: string[] }).runs[0];
  return eventually(async () => {
    const run = (await env.api('GET', `/api/v1/runs/${id}`)).json as RunJson;
    return ['pending', 'running'].includes(run.state) ? undefined : run;
  }, 30_000, `run of ${alertname}`);
}

describe('ssh steps', () => {
  it('run on the remote host and record exit code, stdout and stderr', async () => {
    const run = await runOf('Remote', 1, { model: 'llama-3' });
    expect(run.state).toBe('succeeded');
    const [report, argv] = run.tiers[0]?.steps ?? [];
    expect(report).toMatchObject({ state: 'failed', exitCode: 3, stderr: 'to stderr\n' });
    expect(report?.stdout).toMatch(/^model llama-3 on \S+\n$/);
    expect(report?.host).toContain(`127.0.0.1:${sshd.port}`);
    expect(argv).toMatchObject({ state: 'succeeded', exitCode: 0, stdout: 'llama-3|two words|' });
  });

  it('fail a host that never speaks SSH within connectTimeout, and move the run to the next tier', async () => {
    const run = await runOf('Failover', 2);
    expect(run.state).toBe('succeeded');
    const dead = run.tiers[0]?.steps[0];
    expect(run.tiers[0]?.state).toBe('failed');
    expect(dead?.state).toBe('failed');
    expect(dead?.error?.code).toBe('SSH_CONNECT_TIMEOUT');
    const took = Date.parse(dead?.endedAt ?? '') - Date.parse(dead?.startedAt ?? '');
    expect(took).toBeLessThan(2_000 + 3_000);
    expect(run.tiers[1]).toMatchObject({ state: 'succeeded', steps: [expect.objectContaining({ stdout: 'reached\n', exitCode: 0 })] });
  });
});
