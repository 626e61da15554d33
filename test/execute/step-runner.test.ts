import { describe, it, expect } from '@jest/globals';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createLocalRunner } from '../../src/execute/local-runner.js';
import { runStep } from '../../src/execute/step-runner.js';
import { fixtureScript } from './processes.js';

const deps = { runner: createLocalRunner(), env: { PATH: process.env.PATH ?? '/usr/bin:/bin' }, killGraceMs: 500, maxOutputBytes: 4096 };

describe('runStep with the local runner', () => {
  it('retries a real command until it succeeds and counts the attempts', async () => {
    const counter = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'remediator-until-')), 'count');
    const outcome = await runStep(
      {
        name: 'wait-ready', kind: 'run', argv: [fixtureScript('count-until.sh'), counter, '3'], timeoutMs: 5000,
        until: { everyMs: 50, withinMs: 10_000 }, continueOnError: false, idempotent: false,
      },
      deps,
      { signal: new AbortController().signal },
    );
    expect(outcome).toMatchObject({ attempts: 3, state: 'succeeded', result: { ok: true, stdout: 'attempt 3\n' } });
  });

  it('times out each attempt on its own', async () => {
    const outcome = await runStep(
      { name: 'slow', kind: 'script', script: 'sleep 5', timeoutMs: 200, until: null, continueOnError: false, idempotent: false },
      deps,
      { signal: new AbortController().signal },
    );
    expect(outcome).toMatchObject({ attempts: 1, state: 'failed', result: { timedOut: true, stoppedBy: 'timeout', signal: 'SIGTERM' } });
  });
});
