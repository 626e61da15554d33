import { describe, it, expect } from '@jest/globals';
import { isSpecialAddress, parseIp, parsePrefix, specialAddressKind } from './ip-address.js';

describe('parseIp', () => {
  it.each([
    ['1.2.3.4', 4, 0x01020304n],
    ['::1', 6, 1n],
    ['[::1]', 6, 1n],
    ['::', 6, 0n],
    ['2001:db8::1', 6, 0x20010db8000000000000000000000001n],
    ['1::', 6, 0x0001n << 112n],
    ['fe80::1%eth0', 6, (0xfe80n << 112n) | 1n],
    ['::ffff:1.2.3.4', 4, 0x01020304n],
    ['::ffff:102:304', 4, 0x01020304n],
    ['64:ff9b::1.2.3.4', 6, (0x64n << 112n) | (0xff9bn << 96n) | 0x01020304n],
  ])('reads %s as IPv%d %s', (text, family, value) => {
    expect(parseIp(text)).toEqual({ family, value });
  });

  it.each(['localhost', '1.2.3', '1.2.3.256', ':::', '', '10.0.0.0/8'])('refuses %j', (text) => {
    expect(parseIp(text)).toBeNull();
  });

  it('reads a prefix with host bits set and an address as a full-length prefix', () => {
    expect(parsePrefix('10.1.2.3/8')).toEqual({ base: { family: 4, value: 0x0a010203n }, bits: 8 });
    expect(parsePrefix('::1')).toEqual({ base: { family: 6, value: 1n }, bits: 128 });
  });
});

describe('isSpecialAddress', () => {
  it.each([
    ['127.0.0.1', true],
    ['127.8.9.10', true],
    ['0.0.0.0', true],
    ['169.254.169.254', true],
    ['224.0.0.251', true],
    ['239.255.255.250', true],
    ['255.255.255.255', true],
    ['::', true],
    ['::1', true],
    ['fe80::1', true],
    ['febf::1', true],
    ['ff02::1', true],
    ['::ffff:127.0.0.1', true],
    ['10.0.0.1', false],
    ['192.168.1.1', false],
    ['8.8.8.8', false],
    ['fd00::2', false],
    ['fd00:ec2::254', true],
    ['fec0::1', false],
    ['2001:db8::1', false],
    ['::2', false],
  ])('%s is special: %s', (text, special) => {
    const ip = parseIp(text);
    if (ip === null) throw new Error(`cannot parse ${text}`);
    expect(isSpecialAddress(ip)).toBe(special);
  });
});

describe('specialAddressKind', () => {
  it.each([
    ['169.254.169.254', 'cloud metadata'],
    ['fd00:ec2::254', 'cloud metadata'],
    ['::ffff:169.254.169.254', 'cloud metadata'],
    ['169.254.1.1', 'link-local'],
    ['0.0.0.0', 'unspecified'],
    ['0.1.2.3', 'this-network'],
    ['::', 'unspecified'],
    ['127.0.0.1', 'loopback'],
    ['::1', 'loopback'],
    ['ff02::1', 'multicast'],
    ['fd00:ec2::253', null],
    ['10.0.0.1', null],
  ])('names %s as %p', (text, kind) => {
    const ip = parseIp(text);
    if (ip === null) throw new Error(`cannot parse ${text}`);
    expect(specialAddressKind(ip)).toBe(kind);
  });
});
