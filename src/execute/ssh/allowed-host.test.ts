import { describe, expect, it } from '@jest/globals';
import { createHostCheck } from './allowed-host.js';

describe('createHostCheck', () => {
  it.each([
    [[], '10.1.2.3', true],
    [[], '127.0.0.1', false],
    [[], '169.254.169.254', false],
    [[], 'fd00:ec2::254', false],
    [[], '::', false],
    [[], 'localhost', false],
    [['10.0.0.0/8'], '10.1.2.3', true],
    [['10.0.0.0/8'], '11.1.2.3', false],
    [['10.0.0.5'], '10.0.0.5', true],
    [['10.0.0.5'], '10.0.0.6', false],
    [['192.168.0.0/16', '10.0.0.0/8'], '192.168.7.1', true],
    [['fd00::/8'], 'fd12::1', true],
    [['fd00::/8'], '::1', false],
    [['*.example.internal'], '10.1.2.3', false],
    [['127.0.0.0/8'], '127.0.0.1', true],
    [['169.254.169.254/32'], '169.254.169.254', true],
    // A name entry vouches for a name, never for the loopback address it resolves to.
    [['localhost'], 'localhost', false],
    [['*.example.internal'], 'localhost', false],
    [['10.0.0.0/8'], 'localhost', false],
  ])('with allowHosts %j lets %s through: %s', async (allowHosts, host, ok) => {
    const result = await createHostCheck(allowHosts)(host);
    expect(result.ok).toBe(ok);
    if (!result.ok) expect(result).toMatchObject({ code: 'SSH_HOST_NOT_ALLOWED', message: expect.stringContaining('not in ssh.allowHosts') });
  });

  it('names the special kind of address it refuses on the default empty list', async () => {
    expect(await createHostCheck([])('169.254.169.254')).toEqual({
      ok: false,
      code: 'SSH_HOST_NOT_ALLOWED',
      message: 'ssh to 169.254.169.254 refused: address 169.254.169.254 is a cloud metadata address not in ssh.allowHosts: only an IP or CIDR entry can allow it',
    });
  });

  it('connects to the very address it checked, so a name cannot resolve differently later', async () => {
    const result = await createHostCheck(['127.0.0.0/8', '::1/128'])('localhost');
    expect(result).toEqual({ ok: true, address: expect.stringMatching(/^(127\.0\.0\.1|::1)$/) });
  });
});
