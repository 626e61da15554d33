import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from '@jest/globals';
import { RemediatorError } from '../core/errors.js';
import { loadConfig } from './config.js';

function configFile(text: string, files: Record<string, string> = {}): string {
  const dir = mkdtempSync(path.join(tmpdir(), 'remediator-config-'));
  for (const [name, content] of Object.entries(files)) writeFileSync(path.join(dir, name), content);
  const file = path.join(dir, 'remediator.yaml');
  writeFileSync(file, text);
  return file;
}

function errorOf(fn: () => unknown): RemediatorError {
  try {
    fn();
  } catch (err) {
    if (err instanceof RemediatorError) return err;
    throw err;
  }
  throw new Error('expected an error');
}

describe('loadConfig', () => {
  it('serves on the embedded defaults when there is no file', () => {
    const config = loadConfig(null, '/srv/remediator');
    expect(config.listen).toEqual({ host: '127.0.0.1', port: 9095 });
    expect(config.runbooksDir).toBe('/srv/remediator/runbooks');
    expect(config.store).toEqual({ kind: 'sqlite', path: '/srv/remediator/data/remediator.db' });
    expect(config.limits.killGraceMs).toBe(5_000);
    expect(config.limits.leaseMs).toBe(30_000);
    expect(config.auth.webhook.bearerTokens).toEqual([]);
    expect(config.publicURL).toBe('http://127.0.0.1:9095');
  });

  it('reads secrets from files relative to the config file and resolves durations', () => {
    const file = configFile(
      'auth:\n  webhook: { bearerTokenFile: webhook.token }\n  operate: { basic: { username: sre, passwordFile: pw } }\nlimits: { killGrace: 1500ms, lease: 1m }\n',
      { 'webhook.token': 's3cret\n', pw: 'hunter2' },
    );
    const config = loadConfig(file);
    expect(config.auth.webhook.bearerTokens).toEqual(['s3cret']);
    expect(config.auth.operate.basic).toEqual([{ username: 'sre', password: 'hunter2' }]);
    expect(config.limits.killGraceMs).toBe(1_500);
    expect(config.limits.leaseMs).toBe(60_000);
    expect(config.secrets).toEqual(['s3cret', 'hunter2']);
  });

  it('refuses an unknown key and names its file, line and column', () => {
    const file = configFile('listen: 127.0.0.1:9095\nlimits:\n  maxConcurrentRuns: 4\n  maxConcurentRuns: 5\n');
    const err = errorOf(() => loadConfig(file));
    expect(err.code).toBe('CONFIG_INVALID');
    expect(err.message).toContain(`${file}:4:3`);
    expect(err.message).toContain('maxConcurentRuns');
  });

  it('refuses a bad duration with its position', () => {
    const file = configFile('limits:\n  lease: soon\n');
    expect(errorOf(() => loadConfig(file)).message).toContain(`${file}:2:10`);
  });

  it('refuses a token file that cannot be read, naming the key', () => {
    const file = configFile('auth:\n  read: { bearerTokenFile: missing.token }\n');
    expect(errorOf(() => loadConfig(file)).message).toContain('auth.read.bearerTokenFile');
  });

  it('refuses an allowHosts entry that is neither an address, a CIDR nor a host name', () => {
    const file = configFile('http: { allowHosts: ["10.0.0.0/33"] }\n');
    expect(errorOf(() => loadConfig(file)).message).toContain('http.allowHosts: not an IP, CIDR or host name: 10.0.0.0/33');
  });

  it('serves the HTTP limits and no extra Host names by default', () => {
    const config = loadConfig(null, '/srv/remediator');
    expect(config.allowedHosts).toEqual([]);
    expect(config.limits).toMatchObject({ maxConnections: 512, headersTimeoutMs: 10_000, requestTimeoutMs: 60_000 });
  });

  it('reads allowedHosts in lower case and the HTTP limits', () => {
    const file = configFile('allowedHosts: ["Remediator.Example.", "*.svc.cluster.local", "*"]\nlimits: { maxConnections: 64, headersTimeout: 2s, requestTimeout: 5s }\n');
    const config = loadConfig(file);
    expect(config.allowedHosts).toEqual(['remediator.example', '*.svc.cluster.local', '*']);
    expect(config.limits).toMatchObject({ maxConnections: 64, headersTimeoutMs: 2_000, requestTimeoutMs: 5_000 });
  });

  it.each([
    ['a Host with a port', 'allowedHosts: ["remediator:9095"]\n', 'allowedHosts.0'],
    ['a URL', 'allowedHosts: ["http://remediator"]\n', 'allowedHosts.0'],
    ['a header deadline past the request deadline', 'limits: { headersTimeout: 90s, requestTimeout: 60s }\n', 'limits.headersTimeout'],
    ['too small a connection cap', 'limits: { maxConnections: 1 }\n', 'limits.maxConnections'],
  ])('refuses %s', (_what, text, key) => {
    expect(errorOf(() => loadConfig(configFile(text))).message).toContain(key);
  });
});
