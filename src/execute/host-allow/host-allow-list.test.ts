import { describe, expect, it } from '@jest/globals';
import { checkHost, compileHostAllowList, invalidHostAllowEntries, type WhenEmpty } from './host-allow-list.js';

/** The refused address (or 'refused' when none decided it), or null when the host is allowed. */
function verdict(entries: readonly string[], whenEmpty: WhenEmpty, host: string, addresses: readonly string[]): string | null {
  const refusal = checkHost(compileHostAllowList(entries, 'x.allowHosts', whenEmpty), host, addresses);
  return refusal === null ? null : (refusal.address ?? 'refused');
}

describe('one rule for ssh (empty = ordinary hosts) and http (empty = nowhere)', () => {
  it.each([
    // [entries, host, resolved addresses, ssh verdict, http verdict]
    [[], '10.1.2.3', [], null, '10.1.2.3'],
    [[], 'gpu1.example.internal', ['10.0.0.5'], null, '10.0.0.5'],
    [[], '127.0.0.1', [], '127.0.0.1', '127.0.0.1'],
    [[], '::1', [], '::1', '::1'],
    [[], 'localhost', ['127.0.0.1', '::1'], '127.0.0.1', '127.0.0.1'],
    [[], '169.254.169.254', [], '169.254.169.254', '169.254.169.254'],
    [[], 'fd00:ec2::254', [], 'fd00:ec2::254', 'fd00:ec2::254'],
    [[], 'meta.example', ['10.0.0.5', 'fd00:ec2::254'], 'fd00:ec2::254', '10.0.0.5'],
    [[], '0.0.0.0', [], '0.0.0.0', '0.0.0.0'],
    [[], '::', [], '::', '::'],
    [[], 'fe80::1', [], 'fe80::1', 'fe80::1'],
    [[], '224.0.0.1', [], '224.0.0.1', '224.0.0.1'],
    [[], '::ffff:127.0.0.1', [], '::ffff:127.0.0.1', '::ffff:127.0.0.1'],
    [['127.0.0.0/8'], '127.0.0.1', [], null, null],
    [['127.0.0.0/8'], 'localhost', ['127.0.0.1', '::1'], '::1', '::1'],
    [['127.0.0.0/8', '::1'], 'localhost', ['127.0.0.1', '::1'], null, null],
    [['localhost'], 'localhost', ['127.0.0.1'], '127.0.0.1', '127.0.0.1'],
    [['169.254.169.254'], '169.254.169.254', [], null, null],
    [['169.254.0.0/16'], '169.254.169.254', [], null, null],
    [['10.0.0.0/8'], '169.254.169.254', [], '169.254.169.254', '169.254.169.254'],
    [['0.0.0.0/0'], '127.0.0.1', [], null, null],
    [['10.0.0.0/8'], '10.1.2.3', [], null, null],
    [['10.0.0.0/8'], '11.1.2.3', [], '11.1.2.3', '11.1.2.3'],
    [['*'], '10.1.2.3', [], '10.1.2.3', '10.1.2.3'],
    [['*'], 'any.example', ['192.0.2.1'], null, null],
    [['*.example.internal'], 'gpu1.example.internal', ['10.0.0.5', '2001:db8::5'], null, null],
    [['*.example.internal'], 'evil.example.internal', ['10.0.0.5', '169.254.169.254'], '169.254.169.254', '169.254.169.254'],
    [['*.example.internal'], 'other.example.com', ['10.0.0.5'], '10.0.0.5', '10.0.0.5'],
    [['*.example.internal'], 'example.internal', ['10.0.0.5'], '10.0.0.5', '10.0.0.5'],
    [['10.0.0.0/8'], 'other.example.com', ['10.0.0.5', '192.0.2.1'], '192.0.2.1', '192.0.2.1'],
    [['10.0.0.0/8', '*.example.com'], 'other.example.com', ['10.0.0.5', '192.0.2.1'], null, null],
    [['*.example.com'], 'other.example.com', ['10.0.0.5'], null, null],
    [['*.example.internal'], 'gpu1.example.internal', [], 'refused', 'refused'],
  ])('entries %j: %s resolving to %j is refused for ssh at %p and for http at %p', (entries, host, addresses, ssh, http) => {
    expect(verdict(entries, 'ordinary', host, addresses)).toBe(ssh);
    expect(verdict(entries, 'nothing', host, addresses)).toBe(http);
  });

  it('names the list and the kind of special address in a refusal', () => {
    const list = compileHostAllowList(['10.0.0.0/8'], 'ssh.allowHosts', 'ordinary');
    expect(checkHost(list, '169.254.169.254', [])?.reason).toBe(
      'address 169.254.169.254 is a cloud metadata address not in ssh.allowHosts: only an IP or CIDR entry can allow it',
    );
    expect(checkHost(list, 'localhost', ['127.0.0.1'])?.reason).toBe(
      'localhost resolves to 127.0.0.1, which is not in ssh.allowHosts, and no name entry matches localhost',
    );
    const empty = compileHostAllowList([], 'ssh.allowHosts', 'ordinary');
    expect(checkHost(empty, 'localhost', ['::1'])?.reason).toBe(
      'localhost resolves to ::1, a loopback address not in ssh.allowHosts: only an IP or CIDR entry can allow it',
    );
  });
});

describe('invalidHostAllowEntries', () => {
  it('refuses what is neither an address, a CIDR nor a name glob, and address patterns written as globs', () => {
    const bad = ['10.0.0.0/33', '::1/129', 'http://x', 'a b', '', '10.0.0.0/x', '::ffff:0:0/95', '10.*', '127.0.0.*', '10.0.0', 'fe80::*'];
    expect(invalidHostAllowEntries([...bad, '10.0.0.0/8', '*.ok.internal', '::1', 'gpu-*', '*', 'host10.example'])).toEqual(bad);
    expect(() => compileHostAllowList(['10.0.0.0/8', '10.*'], 'ssh.allowHosts', 'ordinary')).toThrow(/ssh\.allowHosts: .*10\.\*/);
  });
});
