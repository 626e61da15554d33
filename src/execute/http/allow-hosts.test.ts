import { describe, it, expect } from '@jest/globals';
import { checkAddressHost, checkResolvedName, compileAllowHosts, invalidAllowHostsEntries } from './allow-hosts.js';

describe('compileAllowHosts', () => {
  it.each([
    // [entries, address, contained]
    [['10.0.0.0/8'], '10.1.2.3', true],
    [['10.0.0.0/8'], '11.0.0.1', false],
    [['10.1.2.3'], '10.1.2.3', true],
    [['10.1.2.3'], '10.1.2.4', false],
    [['10.1.2.99/24'], '10.1.2.1', true],
    [['0.0.0.0/0'], '203.0.113.9', true],
    [['0.0.0.0/0'], '2001:db8::1', false],
    [['127.0.0.0/8'], '127.255.0.1', true],
    [['127.0.0.0/8'], '::ffff:127.0.0.1', true],
    [['127.0.0.0/8'], '[::ffff:7f00:1]', true],
    [['::ffff:10.0.0.0/104'], '10.9.9.9', true],
    [['::1'], '::1', true],
    [['::1'], '[::1]', true],
    [['::1'], '127.0.0.1', false],
    [['2001:db8::/32'], '2001:db8:ffff::1', true],
    [['2001:db8::/32'], '2001:db9::1', false],
    [['fd00::/8'], 'fd00::2', true],
    [['::/0'], '2001:db8::1', true],
    [['::/0'], '10.0.0.1', false],
    [['localhost'], '127.0.0.1', false],
    [['*'], '10.0.0.1', false],
  ])('with entries %j the address %s is contained: %s', (entries, address, contained) => {
    expect(compileAllowHosts(entries).containsAddress(address)).toBe(contained);
  });

  it.each([
    // [entries, name, matches]
    [['localhost'], 'localhost', true],
    [['localhost'], 'LOCALHOST.', true],
    [['localhost'], 'localhost.example', false],
    [['*.example.internal'], 'a.example.internal', true],
    [['*.example.internal'], 'a.b.example.internal', true],
    [['*.example.internal'], 'example.internal', false],
    [['*.example.internal'], 'a.example.internal.evil.com', false],
    [['*.example.internal'], 'aexample.internal', false],
    [['gpu-*.example.internal'], 'gpu-17.example.internal', true],
    [['gpu-*.example.internal'], 'cpu-17.example.internal', false],
    [['a.b'], 'axb', false],
    [['10.0.0.0/8'], '10.0.0.1', false],
  ])('with entries %j the name %s matches: %s', (entries, name, matches) => {
    expect(compileAllowHosts(entries).matchesName(name)).toBe(matches);
  });

  it('names every entry it cannot read and refuses to compile them', () => {
    const bad = ['10.0.0.0/33', '::1/129', 'http://x', 'a b', '', '10.0.0.0/x', '::ffff:0:0/95'];
    expect(invalidAllowHostsEntries([...bad, '10.0.0.0/8', '*.ok.internal', '::1'])).toEqual(bad);
    expect(() => compileAllowHosts(['10.0.0.0/8', 'a b'])).toThrow(/a b/);
  });
});

describe('checkAddressHost', () => {
  it.each([
    [[], '127.0.0.1', false],
    [['127.0.0.1'], '127.0.0.1', true],
    [['localhost'], '127.0.0.1', false],
    [['*'], '10.0.0.1', false],
    [['10.0.0.0/8'], '169.254.169.254', false],
    [['169.254.169.254'], '169.254.169.254', true],
  ])('with entries %j the URL host %s is allowed: %s', (entries, address, allowed) => {
    const refusal = checkAddressHost(compileAllowHosts(entries), address);
    expect(refusal === null).toBe(allowed);
    if (refusal !== null) expect(refusal.address).toBe(address);
  });
});

describe('checkResolvedName', () => {
  it.each([
    // [entries, name, resolved addresses, refused address or null when allowed]
    [['localhost'], 'localhost', ['127.0.0.1'], '127.0.0.1'],
    [['localhost'], 'localhost', ['::1'], '::1'],
    [['localhost', '127.0.0.0/8'], 'localhost', ['127.0.0.1'], null],
    [['localhost', '127.0.0.0/8'], 'localhost', ['127.0.0.1', '::1'], '::1'],
    [['127.0.0.0/8', '::1'], 'localhost', ['127.0.0.1', '::1'], null],
    [['*.example.internal'], 'gpu1.example.internal', ['10.0.0.5'], null],
    [['*.example.internal'], 'gpu1.example.internal', ['10.0.0.5', '2001:db8::5'], null],
    [['*.example.internal'], 'evil.example.internal', ['10.0.0.5', '169.254.169.254'], '169.254.169.254'],
    [['*.example.internal'], 'evil.example.internal', ['::ffff:169.254.169.254'], '::ffff:169.254.169.254'],
    [['*.example.internal'], 'evil.example.internal', ['0.0.0.0'], '0.0.0.0'],
    [['*.example.internal'], 'evil.example.internal', ['::'], '::'],
    [['*.example.internal'], 'evil.example.internal', ['fe80::1'], 'fe80::1'],
    [['*.example.internal'], 'evil.example.internal', ['224.0.0.1'], '224.0.0.1'],
    [['*.example.internal'], 'evil.example.internal', ['ff02::1'], 'ff02::1'],
    [['*.example.internal'], 'evil.example.internal', ['255.255.255.255'], '255.255.255.255'],
    [['*.example.internal'], 'other.example.com', ['10.0.0.5'], '10.0.0.5'],
    [['10.0.0.0/8'], 'other.example.com', ['10.0.0.5'], null],
    [['10.0.0.0/8'], 'other.example.com', ['10.0.0.5', '192.0.2.1'], '192.0.2.1'],
    [['10.0.0.0/8', '*.example.com'], 'other.example.com', ['10.0.0.5', '192.0.2.1'], null],
    [['127.0.0.0/8', '*.example.com'], 'other.example.com', ['10.0.0.5', '127.0.0.1'], null],
    [['*.example.com'], 'other.example.com', ['10.0.0.5', '127.0.0.1'], '127.0.0.1'],
    [['*.example.internal'], 'gpu1.example.internal', [], null],
  ])('with entries %j the name %s resolving to %j is refused for: %s', (entries, name, addresses, refused) => {
    const refusal = checkResolvedName(compileAllowHosts(entries), name, addresses);
    if (addresses.length === 0) {
      expect(refusal?.reason).toMatch(/no address/);
      return;
    }
    expect(refusal?.address ?? null).toBe(refused);
    if (refusal !== null) expect(refusal.reason).toContain(name);
  });
});
