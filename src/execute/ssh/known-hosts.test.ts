import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fingerprintSha256, hostKeyMatches, parseKnownHosts, type KnownHostEntry } from './known-hosts.js';

let dir: string;
/** Five real ed25519 keys as "type base64", k[0]..k[4]. */
const k: string[] = [];
let entries: readonly KnownHostEntry[];
let skipped: readonly { line: number; reason: string }[];

function keygen(name: string): string {
  const file = path.join(dir, name);
  execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', name, '-f', file]);
  return fs.readFileSync(`${file}.pub`, 'utf8').trim().split(/\s+/).slice(0, 2).join(' ');
}

function blob(key: string | undefined): Buffer {
  return Buffer.from((key ?? '').split(' ')[1] ?? '', 'base64');
}

beforeAll(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'remediator-known-hosts-'));
  for (let i = 0; i < 5; i += 1) k.push(keygen(`k${i}`));
  // The hashed entry comes from OpenSSH itself, so the test checks compatibility, not our own idea of the format.
  const hashedFile = path.join(dir, 'hashed');
  fs.writeFileSync(hashedFile, `[db-1]:2200 ${k[3]}\ndb-2 ${k[3]}\n`);
  execFileSync('ssh-keygen', ['-H', '-f', hashedFile], { stdio: 'ignore' });
  const hashed = fs.readFileSync(hashedFile, 'utf8');
  expect(hashed).toMatch(/^\|1\|/);
  const text = [
    '# pinned hosts',
    '',
    `[127.0.0.1]:2222 ${k[0]}`,
    `10.0.0.5,web-1.example ${k[1]} web one`,
    `*.prod.example,!bad.prod.example ${k[2]}`,
    hashed.trim(),
    `@revoked * ${k[4]}`,
    `@cert-authority *.example ${k[0]}`,
    'garbage',
    `web-1.example ecdsa-sha2-nistp256 ${(k[0] ?? '').split(' ')[1]}`,
    `\t  [127.0.0.1]:2222 ${k[4]}`,
  ].join('\n');
  ({ entries, skipped } = parseKnownHosts(text));
});

afterAll(() => {
  fs.rmSync(dir, { recursive: true, force: true });
});

describe('parseKnownHosts', () => {
  it('keeps plain, hashed and revoked entries and skips comments and blank lines silently', () => {
    expect(entries.map((e) => [e.hosts.kind, e.revoked, e.keyType])).toEqual([
      ['patterns', false, 'ssh-ed25519'],
      ['patterns', false, 'ssh-ed25519'],
      ['patterns', false, 'ssh-ed25519'],
      ['hashed', false, 'ssh-ed25519'],
      ['hashed', false, 'ssh-ed25519'],
      ['patterns', true, 'ssh-ed25519'],
      ['patterns', false, 'ssh-ed25519'],
    ]);
  });

  it('reports @cert-authority as unsupported and malformed lines as skipped, with their line numbers', () => {
    expect(skipped).toEqual([
      { line: 9, reason: expect.stringContaining('@cert-authority entries are not supported') },
      { line: 10, reason: 'expected hosts, key type and key' },
      { line: 11, reason: 'key does not decode as ecdsa-sha2-nistp256' },
    ]);
  });
});

describe('hostKeyMatches', () => {
  it.each([
    ['a plain [host]:port entry', '127.0.0.1', 2222, 0, 'match'],
    ['the same host on another port', '127.0.0.1', 22, 0, 'unknown'],
    ['a key pinned for another host', '127.0.0.1', 2222, 1, 'mismatch'],
    ['a name in a comma-separated list', 'web-1.example', 22, 1, 'match'],
    ['a name in another case', 'WEB-1.Example', 22, 1, 'match'],
    ['an address in a comma-separated list', '10.0.0.5', 22, 1, 'match'],
    ['a plain entry asked for with a port', 'web-1.example', 2222, 1, 'unknown'],
    ['a wildcard pattern', 'api.prod.example', 22, 2, 'match'],
    ['a negated pattern', 'bad.prod.example', 22, 2, 'unknown'],
    ['a hashed [host]:port entry', 'db-1', 2200, 3, 'match'],
    ['a hashed entry on the wrong port', 'db-1', 22, 3, 'unknown'],
    ['a hashed port-22 entry', 'db-2', 22, 3, 'match'],
    ['a hashed entry with another key', 'db-1', 2200, 0, 'mismatch'],
    ['a revoked key, even where the host also lists it', '127.0.0.1', 2222, 4, 'revoked'],
    ['a host that only a @cert-authority line names', 'x.example', 22, 0, 'unknown'],
  ])('decides %s', (_what, host, port, key, verdict) => {
    expect(hostKeyMatches(entries, host, port, blob(k[key]))).toBe(verdict);
  });
});

describe('fingerprintSha256', () => {
  it('prints what ssh-keygen -l prints', () => {
    const fromKeygen = execFileSync('ssh-keygen', ['-lf', path.join(dir, 'k0.pub')], { encoding: 'utf8' }).split(' ')[1];
    expect(fingerprintSha256(blob(k[0]))).toBe(fromKeygen);
  });
});
