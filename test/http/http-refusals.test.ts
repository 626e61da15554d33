import { describe, it, expect, beforeAll, afterEach } from '@jest/globals';
import { lookup } from 'node:dns/promises';
import type { HttpDef } from '../../src/core/runbook.js';
import type { StepResult } from '../../src/core/run.js';
import { runHttpStep, type HttpEvidence } from '../../src/execute/http/http-step.js';
import { canListen, startServer, type TestServer } from './test-server.js';

function get(url: string, extra: Partial<HttpDef<string>> = {}): HttpDef<string> {
  return { method: 'GET', url, headers: {}, body: null, expectStatus: null, ...extra };
}

function run(request: HttpDef<string>, allowHosts: readonly string[]): Promise<StepResult> {
  return runHttpStep(request, { allowHosts, timeoutMs: 5000, maxOutputBytes: 65536, signal: new AbortController().signal });
}

function evidenceOf(result: StepResult): HttpEvidence {
  return result.evidence as HttpEvidence;
}

const servers: TestServer[] = [];
async function server(host: string, handler: Parameters<typeof startServer>[1]): Promise<TestServer> {
  const s = await startServer(host, handler);
  servers.push(s);
  return s;
}
afterEach(async () => {
  await Promise.all(servers.splice(0).map((s) => s.close()));
});

let localhostAddresses: string[] = [];
let ipv6 = false;
beforeAll(async () => {
  localhostAddresses = (await lookup('localhost', { all: true })).map((a) => a.address);
  ipv6 = await canListen('::1');
});

describe('http step allowHosts: direct calls', () => {
  it('refuses an IP-literal host that no IP/CIDR entry contains, and sends nothing', async () => {
    const target = await server('127.0.0.1', (_req, res) => res.end('reached'));
    const result = await run(get(`${target.base}/x`), ['10.0.0.0/8', 'localhost', '*']);
    expect(result.ok).toBe(false);
    expect(result.error?.code).toBe('HTTP_HOST_NOT_ALLOWED');
    expect(result.error?.message).toContain('127.0.0.1');
    expect(target.seen).toHaveLength(0);
    expect(evidenceOf(result).hops).toEqual([{ method: 'GET', url: `${target.base}/x`, refused: expect.stringContaining('127.0.0.1') }]);
    expect(result.stderr).toMatch(/^GET http:\/\/127\.0\.0\.1:\d+\/x -> refused: /);
  });

  it('refuses everything when allowHosts is empty', async () => {
    const target = await server('127.0.0.1', (_req, res) => res.end('reached'));
    const result = await run(get(`${target.base}/`), []);
    expect(result.error?.code).toBe('HTTP_HOST_NOT_ALLOWED');
    expect(target.seen).toHaveLength(0);
  });

  it('refuses a name entry that resolves to loopback and names the address it resolved to', async () => {
    const target = await server(localhostAddresses[0] ?? '127.0.0.1', (_req, res) => res.end('reached'));
    const result = await run(get(`http://localhost:${target.port}/`), ['localhost']);
    expect(result.ok).toBe(false);
    expect(result.error?.code).toBe('HTTP_HOST_NOT_ALLOWED');
    expect(result.error?.message).toContain('localhost');
    expect(localhostAddresses.some((a) => result.error?.message.includes(a))).toBe(true);
    expect(target.seen).toHaveLength(0);
  });

  it('allows the same name once a CIDR entry contains every address it resolves to, keeping the name as Host', async () => {
    const target = await server(localhostAddresses[0] ?? '127.0.0.1', (_req, res) => res.end('reached'));
    const result = await run(get(`http://localhost:${target.port}/ready`), ['localhost', '127.0.0.0/8', '::1']);
    expect(result.error).toBeNull();
    expect(result.ok).toBe(true);
    expect(result.stdout).toBe('reached');
    expect(result.host).toBe(`http://localhost:${target.port}/ready`);
    expect(target.seen[0]?.headers.host).toBe(`localhost:${target.port}`);
  });

  it('calls a server on [::1] when ::1 is allowed and refuses it when only IPv4 loopback is', async () => {
    if (!ipv6) {
      expect(await canListen('::1')).toBe(false);
      return;
    }
    const target = await server('::1', (_req, res) => res.end('six'));
    const allowed = await run(get(`${target.base}/`), ['::1/128']);
    expect(allowed.ok).toBe(true);
    expect(allowed.stdout).toBe('six');
    expect(target.seen[0]?.headers.host).toBe(`[::1]:${target.port}`);
    const refused = await run(get(`${target.base}/`), ['127.0.0.0/8', 'localhost']);
    expect(refused.error?.code).toBe('HTTP_HOST_NOT_ALLOWED');
    expect(refused.error?.message).toContain('::1');
    expect(target.seen).toHaveLength(1);
  });

  it('judges an IPv4-mapped IPv6 literal as the IPv4 address it reaches', async () => {
    const result = await run(get('http://[::ffff:127.0.0.1]:9/'), ['::1', '10.0.0.0/8']);
    expect(result.error?.code).toBe('HTTP_HOST_NOT_ALLOWED');
    expect(result.error?.message).toContain('::ffff:7f00:1');
  });

  it.each([
    ['file:///etc/passwd', /only http and https/],
    ['ftp://127.0.0.1/x', /only http and https/],
    ['not a url', /not a URL/],
    ['http://ops:hunter22@127.0.0.1:9/', /credentials in the URL/],
  ])('refuses the URL %s as a bad URL', async (url, message) => {
    const result = await run(get(url), ['0.0.0.0/0']);
    expect(result.ok).toBe(false);
    expect(result.error?.code).toBe('HTTP_BAD_URL');
    expect(result.error?.message).toMatch(message);
    expect(JSON.stringify(result)).not.toContain('hunter22');
  });
});

describe('http step allowHosts: redirects', () => {
  it('refuses a redirect to an address outside allowHosts, recording the first hop and sending nothing there', async () => {
    const elsewhere = await server('127.0.0.2', (_req, res) => res.end('reached'));
    const start = await server('127.0.0.1', (_req, res) => res.writeHead(302, { location: `${elsewhere.base}/` }).end());
    const result = await run(get(`${start.base}/go`), ['127.0.0.1/32']);
    expect(result.ok).toBe(false);
    expect(result.error?.code).toBe('HTTP_HOST_NOT_ALLOWED');
    expect(result.error?.message).toContain('127.0.0.2');
    expect(elsewhere.seen).toHaveLength(0);
    const { hops } = evidenceOf(result);
    expect(hops[0]).toEqual({ method: 'GET', url: `${start.base}/go`, status: 302 });
    expect(hops[1]?.refused).toContain('127.0.0.2');
    expect(result.stderr.split('\n')[0]).toBe(`GET ${start.base}/go -> 302`);
  });

  it('refuses a redirect to a name whose addresses are not allowed, naming the name and address', async () => {
    const elsewhere = await server(localhostAddresses[0] ?? '127.0.0.1', (_req, res) => res.end('reached'));
    const start = await server('127.0.0.2', (_req, res) => res.writeHead(307, { location: `http://localhost:${elsewhere.port}/` }).end());
    const result = await run(get(`${start.base}/`), ['127.0.0.2']);
    expect(result.error?.code).toBe('HTTP_HOST_NOT_ALLOWED');
    expect(result.error?.message).toContain('localhost');
    expect(localhostAddresses.some((a) => result.error?.message.includes(a))).toBe(true);
    expect(elsewhere.seen).toHaveLength(0);
    expect(evidenceOf(result).hops.map((h) => h.status ?? 'refused')).toEqual([307, 'refused']);
  });

  it('refuses a redirect to another scheme as a bad URL', async () => {
    const start = await server('127.0.0.1', (_req, res) => res.writeHead(301, { location: 'file:///etc/passwd' }).end());
    const result = await run(get(`${start.base}/`), ['127.0.0.1']);
    expect(result.error?.code).toBe('HTTP_BAD_URL');
  });

  it('follows allowed redirects, turning a POST into a GET on 303, and records every hop', async () => {
    const target = await server('127.0.0.1', (req, res) => {
      if (req.url === '/a') res.writeHead(303, { location: '/b' }).end();
      else if (req.url === '/b') res.writeHead(308, { location: '/c' }).end();
      else res.writeHead(200).end(`final ${req.method}`);
    });
    const result = await run({ ...get(`${target.base}/a`), method: 'POST', body: 'payload' }, ['127.0.0.1']);
    expect(result.ok).toBe(true);
    expect(result.stdout).toBe('final GET');
    expect(target.seen.map((s) => `${s.method} ${s.url} ${s.body}`)).toEqual(['POST /a payload', 'GET /b ', 'GET /c ']);
    expect(evidenceOf(result)).toEqual({
      status: 200,
      url: `${target.base}/c`,
      hops: [303, 308, 200].map((status, i) => ({ method: i === 0 ? 'POST' : 'GET', url: `${target.base}/${'abc'[i]}`, status })),
    });
    expect(result.host).toBe(`${target.base}/c`);
  });

  it('fails after five redirects', async () => {
    const target = await server('127.0.0.1', (_req, res) => res.writeHead(302, { location: '/again' }).end());
    const result = await run(get(`${target.base}/`), ['127.0.0.1']);
    expect(result.ok).toBe(false);
    expect(result.error?.code).toBe('HTTP_ERROR');
    expect(result.error?.message).toMatch(/more than 5 redirects/);
    expect(target.seen).toHaveLength(6);
  });

  it('does not follow a redirect whose status is expected', async () => {
    const target = await server('127.0.0.1', (_req, res) => res.writeHead(302, { location: '/next' }).end());
    const result = await run(get(`${target.base}/`, { expectStatus: [302] }), ['127.0.0.1']);
    expect(result.ok).toBe(true);
    expect(target.seen).toHaveLength(1);
  });
});
