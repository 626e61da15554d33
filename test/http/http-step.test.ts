import { describe, it, expect, afterEach } from '@jest/globals';
import fs from 'node:fs';
import path from 'node:path';
import type { HttpDef } from '../../src/core/runbook.js';
import type { StepResult } from '../../src/core/run.js';
import { isTransientHttpFailure, runHttpStep, type HttpEvidence, type HttpStepOptions } from '../../src/execute/http/http-step.js';
import { exchange } from '../../src/execute/http/http-exchange.js';
import { makeTempDir, removeTempDir } from '../support/temp-dir.js';
import { startServer, type Handler, type TestServer } from './test-server.js';

const ALLOW = ['127.0.0.1'];

function get(url: string, extra: Partial<HttpDef<string>> = {}): HttpDef<string> {
  return { method: 'GET', url, headers: {}, body: null, expectStatus: null, ...extra };
}

function run(request: HttpDef<string>, options: Partial<HttpStepOptions> = {}): Promise<StepResult> {
  const signal = new AbortController().signal;
  return runHttpStep(request, { allowHosts: ALLOW, timeoutMs: 5000, maxOutputBytes: 65536, signal, ...options });
}

const cleanups: Array<() => Promise<void> | void> = [];
async function server(handler: Handler, host = '127.0.0.1'): Promise<TestServer> {
  const s = await startServer(host, handler);
  cleanups.push(() => s.close());
  return s;
}
afterEach(async () => {
  for (const cleanup of cleanups.splice(0)) await cleanup();
});

describe('runHttpStep', () => {
  it('succeeds when the status is expected and records body, hop, host and evidence', async () => {
    const target = await server((_req, res) => res.writeHead(201).end('created'));
    const result = await run({ ...get(`${target.base}/admin/drain`), method: 'POST', body: '{"x":1}', expectStatus: [200, 201] });
    expect(result).toMatchObject({ ok: true, exitCode: null, stoppedBy: null, timedOut: false, error: null, stdout: 'created' });
    expect(result.host).toBe(`${target.base}/admin/drain`);
    expect(result.stderr).toBe(`POST ${target.base}/admin/drain -> 201\n`);
    const url = `${target.base}/admin/drain`;
    expect(result.evidence).toEqual({ status: 201, url, hops: [{ method: 'POST', url, status: 201 }] });
    expect(target.seen[0]).toMatchObject({ method: 'POST', url: '/admin/drain', body: '{"x":1}' });
  });

  it.each([
    [null, 204, true],
    [null, 404, false],
    [null, 500, false],
    [[200], 204, false],
    [[503], 503, true],
  ])('with expectStatus %j a %d answer succeeds: %s', async (expectStatus, status, ok) => {
    const target = await server((_req, res) => res.writeHead(status).end());
    const result = await run(get(`${target.base}/`, { expectStatus }));
    expect(result.ok).toBe(ok);
    expect(result.error).toBeNull();
    expect((result.evidence as HttpEvidence).status).toBe(status);
  });

  it('sends a header read from a file at call time and never records the secret', async () => {
    const dir = makeTempDir('http-secret');
    cleanups.push(() => removeTempDir(dir));
    const file = path.join(dir, 'token');
    fs.writeFileSync(file, '  s3cr3t-token-value-1\n');
    // The server echoes what it got, as a careless admin endpoint might.
    const target = await server((req, res) => res.end(JSON.stringify(req.headers)));
    const request = get(`${target.base}/?q=1`, { headers: { authorization: { file, prefix: 'Bearer ' }, 'x-plain': 'visible' } });
    const first = await run(request);
    expect(target.seen[0]?.headers.authorization).toBe('Bearer s3cr3t-token-value-1');
    expect(target.seen[0]?.headers['x-plain']).toBe('visible');
    expect(first.ok).toBe(true);
    expect(first.stdout).toContain('visible');
    expect(JSON.stringify(first)).not.toContain('s3cr3t-token-value-1');
    fs.writeFileSync(file, 'rotated-token-value-2');
    const second = await run(request);
    expect(target.seen[1]?.headers.authorization).toBe('Bearer rotated-token-value-2');
    expect(JSON.stringify(second)).not.toContain('rotated-token-value-2');
  });

  it('does not send a header read from a file to another origin after a redirect', async () => {
    const dir = makeTempDir('http-secret');
    cleanups.push(() => removeTempDir(dir));
    const file = path.join(dir, 'token');
    fs.writeFileSync(file, 'origin-bound-secret');
    const other = await server((_req, res) => res.end('other'), '127.0.0.2');
    const start = await server((_req, res) => res.writeHead(302, { location: `${other.base}/` }).end());
    const result = await run(get(`${start.base}/`, { headers: { authorization: { file }, 'x-plain': 'p' } }), { allowHosts: ['127.0.0.0/8'] });
    expect(result.ok).toBe(true);
    expect(start.seen[0]?.headers.authorization).toBe('origin-bound-secret');
    expect(other.seen[0]?.headers.authorization).toBeUndefined();
    expect(other.seen[0]?.headers['x-plain']).toBe('p');
  });

  it('fails naming the file, not its content, when a header file cannot be read', async () => {
    const target = await server((_req, res) => res.end());
    const result = await run(get(`${target.base}/`, { headers: { authorization: { file: '/nonexistent/token' } } }));
    expect(result.ok).toBe(false);
    expect(result.error?.code).toBe('HTTP_ERROR');
    expect(result.error?.message).toContain('/nonexistent/token');
    expect(target.seen).toHaveLength(0);
  });

  it('keeps only maxOutputBytes of the body and marks it truncated', async () => {
    const target = await server((_req, res) => res.end('x'.repeat(100_000)));
    const result = await run(get(`${target.base}/`), { maxOutputBytes: 1000 });
    expect(result.ok).toBe(true);
    expect(result.stdout).toBe('x'.repeat(1000));
    expect(result.stdoutTruncated).toBe(true);
  });

  it('stops reading an endless body at the hard cap instead of waiting for the timeout', async () => {
    const target = await server((_req, res) => {
      const chunk = Buffer.alloc(64 * 1024, 'y');
      const pump = (): void => {
        while (!res.destroyed && res.write(chunk));
        if (!res.destroyed) res.once('drain', pump);
      };
      pump();
    });
    const started = Date.now();
    const result = await run(get(`${target.base}/`), { maxOutputBytes: 100, timeoutMs: 20_000 });
    expect(Date.now() - started).toBeLessThan(10_000);
    expect(result.ok).toBe(true);
    expect(result.stdout).toBe('y'.repeat(100));
    expect(result.stdoutTruncated).toBe(true);
  });

  it('stops at its timeout when the server never answers', async () => {
    const target = await server(() => undefined);
    const started = Date.now();
    const result = await run(get(`${target.base}/hang`), { timeoutMs: 300 });
    expect(Date.now() - started).toBeLessThan(2000);
    expect(result).toMatchObject({ ok: false, timedOut: true, stoppedBy: 'timeout', error: null });
    expect(result.stderr).toBe(`GET ${target.base}/hang -> error: stopped: timeout\n`);
    expect(isTransientHttpFailure(result)).toBe(false);
  });

  it('stops at once when canceled, recording the cause', async () => {
    const target = await server(() => undefined);
    const controller = new AbortController();
    setTimeout(() => controller.abort('canceled'), 100);
    const started = Date.now();
    const result = await run(get(`${target.base}/hang`), { signal: controller.signal, timeoutMs: 30_000 });
    expect(Date.now() - started).toBeLessThan(2000);
    expect(result).toMatchObject({ ok: false, timedOut: false, stoppedBy: 'canceled' });
  });

  it('sends nothing when its signal has already been aborted', async () => {
    const target = await server((_req, res) => res.end());
    const controller = new AbortController();
    controller.abort('shutdown');
    const result = await run(get(`${target.base}/`), { signal: controller.signal });
    expect(result.stoppedBy).toBe('shutdown');
    expect(target.seen).toHaveLength(0);
  });

  it('fails with a transient HTTP_ERROR when nothing listens', async () => {
    const target = await server((_req, res) => res.end());
    await target.close();
    const result = await run(get(`${target.base}/`));
    expect(result.ok).toBe(false);
    expect(result.error?.code).toBe('HTTP_ERROR');
    expect(result.error?.message).toMatch(/ECONNREFUSED/);
    expect(isTransientHttpFailure(result)).toBe(true);
  });
});

describe('exchange', () => {
  it('connects to the pinned address, not to what the name resolves to, keeping the name as Host', async () => {
    const pinned = await server((_req, res) => res.end('pinned'), '127.0.0.2');
    const res = await exchange({
      url: new URL(`http://localhost:${pinned.port}/`),
      method: 'GET',
      headers: {},
      body: null,
      addresses: [{ address: '127.0.0.2', family: 4 }],
      signal: new AbortController().signal,
      keepBytes: 100,
      readBytes: 1000,
    });
    expect(res.body.toString()).toBe('pinned');
    expect(pinned.seen[0]?.headers.host).toBe(`localhost:${pinned.port}`);
  });
});
