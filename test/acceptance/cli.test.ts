/** The command line as users run it: `remediator check` and `remediator schema` from the built bin. */

import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from '@jest/globals';
import { runCli, type CliResult } from '../support/cli.js';
import { REPO_ROOT } from '../support/service.js';
import { makeTempDir } from '../support/temp-dir.js';

const cli = (args: string[]): Promise<CliResult> => runCli([...args]);

const GOOD = `name: good
faultClass: test
description: fine
match:
  - alertname = "Good"
params:
  host: { from: labels.instance, pattern: '[a-z0-9.-]+' }
target: "{{ params.host }}"
tiers:
  - name: only
    steps:
      - name: echo
        run: [echo, "{{ params.host }}"]
`;

function folderWith(name: string, text: string): string {
  const dir = makeTempDir('cli');
  mkdirSync(path.join(dir, 'runbooks'));
  writeFileSync(path.join(dir, 'runbooks', 'good.yaml'), GOOD);
  writeFileSync(path.join(dir, 'runbooks', name), text);
  return path.join(dir, 'runbooks');
}

describe('remediator check', () => {
  it('accepts the shipped runbooks with no error and no warning: every tier is verified', async () => {
    const res = await cli(['check', path.join(REPO_ROOT, 'runbooks')]);
    expect(`${res.stdout}${res.stderr}`).not.toMatch(/error|warning/i);
    expect(res.stdout).toMatch(/^7 runbook\(s\) in .* are valid$/m);
    expect(res.code).toBe(0);
  });

  it.each([
    ['an unknown key', GOOD.replace('description: fine', 'description: fine\nretries: 3').replace('name: good', 'name: bad'), 'bad.yaml:4:1', 'retries'],
    ['a bad regex in a matcher', GOOD.replace('alertname = "Good"', 'alertname =~ "Go(od"').replace('name: good', 'name: bad'), 'bad.yaml:5:5', 'regex'],
    [
      'a template naming an undeclared param',
      GOOD.replace('run: [echo, "{{ params.host }}"]', 'run: [echo, "{{ params.model }}"]').replace('name: good', 'name: bad'),
      'bad.yaml:13:',
      'model',
    ],
  ])('refuses %s, naming file:line:col', async (_what, text, where, word) => {
    const dir = folderWith('bad.yaml', text);
    const res = await cli(['check', dir]);
    expect(res.code).not.toBe(0);
    expect(res.stderr).toContain(path.join(dir, where));
    expect(res.stderr).toContain(word);
  });
});

describe('remediator schema', () => {
  it('prints a JSON Schema that knows the runbook keys', async () => {
    const res = await cli(['schema']);
    expect(res.code).toBe(0);
    const schema = JSON.parse(res.stdout) as { properties?: Record<string, unknown> };
    expect(Object.keys(schema.properties ?? {})).toEqual(expect.arrayContaining(['name', 'faultClass', 'match', 'params', 'tiers']));
  });
});
