import { describe, expect, it } from '@jest/globals';
import { hostName, hostPolicy } from './host-guard.js';

const policy = (listen: string, publicURL: string, allowedHosts: string[] = []) => {
  const i = listen.lastIndexOf(':');
  return hostPolicy({ listen: { host: listen.slice(0, i).replace(/^\[(.*)\]$/, '$1'), port: Number(listen.slice(i + 1)) }, publicURL, allowedHosts }, 'gpu-box-7');
};

describe('hostName', () => {
  it.each([
    ['example.org:9095', 'example.org'],
    ['EXAMPLE.org.', 'example.org'],
    ['[::1]:9095', '::1'],
    ['10.0.0.1', '10.0.0.1'],
    ['a:b:c', null],
    ['', null],
    ['[evil.example]:80', null],
  ])('reads %j as %j', (header, expected) => {
    expect(hostName(header)).toBe(expected);
  });
});

describe('hostPolicy', () => {
  const loopback = policy('127.0.0.1:9095', 'http://127.0.0.1:9095');
  const wildcard = policy('0.0.0.0:9095', 'https://remediator.example.org', ['remediator', '*.svc.cluster.local']);

  it.each([
    [loopback, '127.0.0.1:9095', true],
    [loopback, 'localhost:9095', true],
    [loopback, '[::1]:9095', true],
    [loopback, 'gpu-box-7:9095', true],
    [loopback, 'evil.example:9095', false],
    [loopback, 'localhost.evil.example', false],
    [loopback, undefined, false],
    [wildcard, '10.4.5.6:9095', true],
    [wildcard, 'remediator.example.org', true],
    [wildcard, 'remediator:9095', true],
    [wildcard, 'remediator.monitoring.svc.cluster.local:9095', true],
    [wildcard, 'svc.cluster.local', false],
    [wildcard, '0.0.0.0.evil.example', false],
  ])('%#: %s is served: %s', (p, host, expected) => {
    expect(p.allows(host)).toBe(expected);
  });

  it('serves any Host when allowedHosts holds "*", and says so', () => {
    const any = policy('0.0.0.0:9095', 'http://x.example', ['*']);
    expect(any.allows('anything.example')).toBe(true);
    expect(any.names).toEqual(['*']);
  });

  it('names what it serves for the start-up log, without the IP literals it serves anyway', () => {
    expect(wildcard.names).toEqual(['localhost', 'gpu-box-7', 'remediator.example.org', 'remediator', '*.svc.cluster.local']);
  });
});
