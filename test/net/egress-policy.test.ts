import { describe, expect, it } from 'vitest';
import { ConnectFailedError, EgressDeniedError, EgressPolicy, connectFailureMessage } from '../../src/net/egress-policy.js';

function refusal(fn: () => unknown): EgressDeniedError {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(EgressDeniedError);
    return err as EgressDeniedError;
  }
  throw new Error('expected an EgressDeniedError, nothing was thrown');
}

async function asyncRefusal(p: Promise<unknown>): Promise<EgressDeniedError> {
  try {
    await p;
  } catch (err) {
    expect(err).toBeInstanceOf(EgressDeniedError);
    return err as EgressDeniedError;
  }
  throw new Error('expected an EgressDeniedError, the promise resolved');
}

describe('EgressPolicy defaults', () => {
  const policy = new EgressPolicy();

  it.each([
    ['127.0.0.1', 'loopback'],
    ['127.255.0.9', 'loopback'],
    ['::1', 'loopback'],
    ['[::1]', 'loopback'],
    ['169.254.169.254', 'link-local'],
    ['fe80::1', 'link-local'],
    ['fe80::1%eth0', 'link-local'],
    ['febf::1', 'link-local'],
    ['0.0.0.0', 'unspecified'],
    ['0.1.2.3', 'unspecified'],
    ['::', 'unspecified'],
    ['224.0.0.1', 'multicast'],
    ['239.255.255.250', 'multicast'],
    ['ff02::1', 'multicast'],
    ['255.255.255.255', 'broadcast'],
    ['::ffff:127.0.0.1', 'loopback'],
    ['::ffff:7f00:1', 'loopback'],
    ['::ffff:169.254.169.254', 'link-local'],
    ['::127.0.0.1', 'IPv4-compatible IPv6 (deprecated)'],
  ])('refuses %s as %s', (address, reason) => {
    const err = refusal(() => policy.assertAllowed(address, 443));
    expect(err.code).toBe('SIEMGATE_EGRESS_DENIED');
    expect(err.reason).toBe(reason);
    expect(err.port).toBe(443);
    expect(err.message).toContain(reason);
  });

  it.each([
    ['100.100.100.200', 'a cloud metadata endpoint', undefined],
    ['fd00:ec2::254', 'a cloud metadata endpoint', undefined],
    ['[fd00:ec2:0::254]', 'a cloud metadata endpoint', undefined],
    ['::ffff:100.100.100.200', 'a cloud metadata endpoint', undefined],
    ['64:ff9b::7f00:1', 'loopback', { form: 'NAT64', ipv4: '127.0.0.1' }],
    ['64:ff9b::127.0.0.1', 'loopback', { form: 'NAT64', ipv4: '127.0.0.1' }],
    ['64:ff9b::a9fe:a9fe', 'link-local', { form: 'NAT64', ipv4: '169.254.169.254' }],
    ['64:ff9b::6464:64c8', 'a cloud metadata endpoint', { form: 'NAT64', ipv4: '100.100.100.200' }],
    ['64:ff9b::0.0.0.0', 'unspecified', { form: 'NAT64', ipv4: '0.0.0.0' }],
    ['2002:7f00:1::', 'loopback', { form: '6to4', ipv4: '127.0.0.1' }],
    ['2002:a9fe:a9fe:1:2:3:4:5', 'link-local', { form: '6to4', ipv4: '169.254.169.254' }],
    ['2002:e000:1::1', 'multicast', { form: '6to4', ipv4: '224.0.0.1' }],
    ['::ffff:0:7f00:1', 'loopback', { form: 'IPv4-translated (SIIT)', ipv4: '127.0.0.1' }],
    ['::ffff:0:127.0.0.1', 'loopback', { form: 'IPv4-translated (SIIT)', ipv4: '127.0.0.1' }],
    ['::ffff:0:169.254.169.254', 'link-local', { form: 'IPv4-translated (SIIT)', ipv4: '169.254.169.254' }],
    ['::169.254.169.254', 'IPv4-compatible IPv6 (deprecated)', undefined],
    ['::8.8.8.8', 'IPv4-compatible IPv6 (deprecated)', undefined],
    ['64:ff9b:1::8.8.8.8', 'NAT64 local-use prefix (RFC 8215)', undefined],
    ['64:ff9b:1:ffff::1', 'NAT64 local-use prefix (RFC 8215)', undefined],
  ])('refuses %s as %s (cloud metadata and translated forms)', (address, reason, embedded) => {
    const err = refusal(() => policy.assertAllowed(address, 80));
    expect(err.reason).toBe(reason);
    expect(err.embedded).toEqual(embedded);
    if (embedded) expect(err.message).toContain(`${embedded.form} of ${embedded.ipv4}, which is ${reason}`);
  });

  it.each([
    '100.64.0.1',
    '100.100.100.100',
    '100.100.100.201',
    'fd00:ec2::253',
    '64:ff9b::808:808',
    '64:ff9b::10.0.0.1',
    '2002:808:808::1',
    '2002:c0a8:101::',
    '::ffff:0:8.8.8.8',
    '64:ff9a::7f00:1',
    '2003:7f00:1::',
    '64:ff9b:2::7f00:1',
  ])('allows %s (a public or private IPv4 address embedded, or no embedding)', (address) => {
    expect(() => policy.assertAllowed(address, 443)).not.toThrow();
  });

  it.each(['8.8.8.8', '10.1.2.3', '172.16.0.1', '192.168.1.1', '100.64.0.1', 'fd00::2', '2001:4860:4860::8888', '::ffff:8.8.8.8', 'fec0::1'])(
    'allows %s without denyPrivate',
    (address) => {
      expect(() => policy.assertAllowed(address, 443)).not.toThrow();
    },
  );

  it('names the host and the address in the message', () => {
    const err = refusal(() => policy.assertAllowed('169.254.169.254', 80, 'metadata.internal'));
    expect(err.host).toBe('metadata.internal');
    expect(err.address).toBe('169.254.169.254');
    expect(err.message).toBe(
      'egress refused: metadata.internal resolves to 169.254.169.254, which is link-local (allow it with SIEMGATE_EGRESS_ALLOW)',
    );
  });
});

describe('EgressPolicy denyPrivate', () => {
  const policy = new EgressPolicy({ denyPrivate: true });
  it.each([
    ['10.0.0.1', 'private (RFC 1918)'],
    ['172.16.5.4', 'private (RFC 1918)'],
    ['172.31.255.255', 'private (RFC 1918)'],
    ['192.168.0.10', 'private (RFC 1918)'],
    ['::ffff:10.0.0.1', 'private (RFC 1918)'],
    ['100.64.0.1', 'shared address space (CGNAT, RFC 6598)'],
    ['100.127.255.254', 'shared address space (CGNAT, RFC 6598)'],
    ['fd00::2', 'unique local (ULA, RFC 4193)'],
    ['fc00::1', 'unique local (ULA, RFC 4193)'],
  ])('refuses %s', (address, reason) => {
    expect(refusal(() => policy.assertAllowed(address, 443)).reason).toBe(reason);
  });

  it.each([
    ['64:ff9b::a00:1', 'private (RFC 1918)'],
    ['2002:c0a8:101::', 'private (RFC 1918)'],
    ['::ffff:0:172.16.0.1', 'private (RFC 1918)'],
    ['64:ff9b::100.64.0.1', 'shared address space (CGNAT, RFC 6598)'],
  ])('refuses %s, which embeds a private address', (address, reason) => {
    expect(refusal(() => policy.assertAllowed(address, 443)).reason).toBe(reason);
  });

  it.each(['172.32.0.1', '100.128.0.1', '192.169.0.1', '8.8.8.8', 'fe00::1'])('still allows %s', (address) => {
    expect(() => policy.assertAllowed(address, 443)).not.toThrow();
  });
});

describe('EgressPolicy allow list', () => {
  it('allows by CIDR, for every port', () => {
    const policy = new EgressPolicy({ allow: ['127.0.0.0/24', '::1/128'], denyPrivate: true });
    expect(() => policy.assertAllowed('127.0.0.1', 8088)).not.toThrow();
    expect(() => policy.assertAllowed('127.0.0.200', 1)).not.toThrow();
    expect(() => policy.assertAllowed('::ffff:127.0.0.1', 1)).not.toThrow();
    expect(() => policy.assertAllowed('::1', 514)).not.toThrow();
    expect(refusal(() => policy.assertAllowed('127.0.1.1', 8088)).reason).toBe('loopback');
    expect(refusal(() => policy.assertAllowed('10.0.0.1', 8088)).reason).toBe('private (RFC 1918)');
  });

  it('an allowed IPv4 address does not allow the IPv6 forms that translate to it (NAT64, 6to4, SIIT)', () => {
    const policy = new EgressPolicy({ allow: ['127.0.0.0/8'] });
    expect(() => policy.assertAllowed('127.0.0.1', 80)).not.toThrow();
    for (const address of ['64:ff9b::7f00:1', '2002:7f00:1::', '::ffff:0:7f00:1']) {
      expect(refusal(() => policy.assertAllowed(address, 80)).reason, address).toBe('loopback');
    }
    // An explicit IPv6 entry does.
    expect(() => new EgressPolicy({ allow: ['64:ff9b::/96'] }).assertAllowed('64:ff9b::7f00:1', 80)).not.toThrow();
  });

  it('allows a single private range out of denyPrivate', () => {
    const policy = new EgressPolicy({ allow: ['10.20.0.0/16'], denyPrivate: true });
    expect(() => policy.assertAllowed('10.20.3.4', 443)).not.toThrow();
    expect(refusal(() => policy.assertAllowed('10.21.3.4', 443)).reason).toBe('private (RFC 1918)');
  });

  it('allows a bare address as a single host', () => {
    const policy = new EgressPolicy({ allow: ['127.0.0.5', '[::1]'] });
    expect(() => policy.assertAllowed('127.0.0.5', 1)).not.toThrow();
    expect(() => policy.assertAllowed('::1', 2)).not.toThrow();
    expect(refusal(() => policy.assertAllowed('127.0.0.6', 1)).reason).toBe('loopback');
  });

  it('allows by IP:port only on that port', () => {
    const policy = new EgressPolicy({ allow: ['127.0.0.1:8088', '[::1]:514'] });
    expect(() => policy.assertAllowed('127.0.0.1', 8088)).not.toThrow();
    expect(() => policy.assertAllowed('::1', 514)).not.toThrow();
    expect(refusal(() => policy.assertAllowed('127.0.0.1', 8089)).reason).toBe('loopback');
    expect(refusal(() => policy.assertAllowed('::1', 515)).reason).toBe('loopback');
  });

  it('allows by host name:port whatever the name resolves to, on that port only', async () => {
    const policy = new EgressPolicy({
      allow: ['siem.local:514'],
      resolve: async () => [{ address: '127.0.0.1', family: 4 }],
    });
    await expect(policy.resolve('siem.local', 514)).resolves.toEqual({ address: '127.0.0.1', family: 4 });
    await expect(policy.resolve('SIEM.LOCAL', 514)).resolves.toEqual({ address: '127.0.0.1', family: 4 });
    expect((await asyncRefusal(policy.resolve('siem.local', 6514))).reason).toBe('loopback');
    expect((await asyncRefusal(policy.resolve('other.local', 514))).reason).toBe('loopback');
  });

  it('rejects malformed entries', () => {
    for (const entry of ['10.0.0.0/33', 'not a cidr/8', 'host:99999', 'host:', '[::1]:x', 'just-a-name', '::1/129']) {
      expect(() => new EgressPolicy({ allow: [entry] }), entry).toThrow(/invalid egress allow entry/);
    }
  });
});

describe('EgressPolicy.resolve', () => {
  it('refuses localhost (a name resolving to loopback) with the real resolver', async () => {
    const err = await asyncRefusal(new EgressPolicy().resolve('localhost', 80));
    expect(err.reason).toBe('loopback');
    expect(err.host).toBe('localhost');
  });

  it('refuses a name whose only address is the metadata endpoint', async () => {
    const policy = new EgressPolicy({ resolve: async () => [{ address: '169.254.169.254', family: 4 }] });
    expect((await asyncRefusal(policy.resolve('metadata.example', 80))).reason).toBe('link-local');
  });

  it('takes IP literals as they are, without asking the resolver', async () => {
    let calls = 0;
    const policy = new EgressPolicy({
      resolve: async () => {
        calls++;
        return [{ address: '8.8.8.8', family: 4 }];
      },
    });
    await expect(policy.resolve('203.0.113.9', 443)).resolves.toEqual({ address: '203.0.113.9', family: 4 });
    await expect(policy.resolve('[2001:db8::1]', 443)).resolves.toEqual({ address: '2001:db8::1', family: 6 });
    expect((await asyncRefusal(policy.resolve('127.0.0.1', 443))).reason).toBe('loopback');
    expect(calls).toBe(0);
  });

  it('skips refused addresses and returns the first allowed one', async () => {
    const policy = new EgressPolicy({
      resolve: async () => [
        { address: '127.0.0.1', family: 4 },
        { address: '::1', family: 6 },
        { address: '203.0.113.7', family: 4 },
      ],
    });
    await expect(policy.resolve('mixed.example', 443)).resolves.toEqual({ address: '203.0.113.7', family: 4 });
  });

  it('propagates DNS errors', async () => {
    const err = await new EgressPolicy().resolve('does-not-exist.invalid', 80).catch((e: unknown) => e);
    expect(err).not.toBeInstanceOf(EgressDeniedError);
    expect((err as { code?: string }).code).toMatch(/ENOTFOUND|EAI_AGAIN/);
  });
});

describe('EgressPolicy.fromEnv', () => {
  it('reads the allow list and denyPrivate', () => {
    const policy = EgressPolicy.fromEnv({
      SIEMGATE_EGRESS_ALLOW: ' 127.0.0.1/32 , siem.local:514,',
      SIEMGATE_EGRESS_DENY_PRIVATE: 'true',
    });
    expect(() => policy.assertAllowed('127.0.0.1', 1)).not.toThrow();
    expect(refusal(() => policy.assertAllowed('192.168.1.1', 1)).reason).toBe('private (RFC 1918)');
  });

  it('defaults to the built-in refusals only', () => {
    const policy = EgressPolicy.fromEnv({});
    expect(() => policy.assertAllowed('192.168.1.1', 1)).not.toThrow();
    expect(refusal(() => policy.assertAllowed('127.0.0.1', 1)).reason).toBe('loopback');
  });

  it('names the setting on bad values', () => {
    expect(() => EgressPolicy.fromEnv({ SIEMGATE_EGRESS_DENY_PRIVATE: 'yes' })).toThrow(/SIEMGATE_EGRESS_DENY_PRIVATE/);
    expect(() => EgressPolicy.fromEnv({ SIEMGATE_EGRESS_ALLOW: '10.0.0.0/99' })).toThrow(/SIEMGATE_EGRESS_ALLOW/);
  });
});

describe('EgressPolicy.connectFailure: one answer for every failed connect', () => {
  function capture() {
    const lines: { level: string; obj: Record<string, unknown>; msg: string }[] = [];
    return {
      lines,
      log: {
        info: (obj: object, msg: string) => lines.push({ level: 'info', obj: obj as Record<string, unknown>, msg }),
        debug: (obj: object, msg: string) => lines.push({ level: 'debug', obj: obj as Record<string, unknown>, msg }),
      },
    };
  }
  const sys = (code: string) => Object.assign(new Error(`connect ${code} 10.0.0.9:8088`), { code });

  it('maps a policy refusal, refused, unreachable and timed-out connects to the same message; logs the cause', () => {
    const { lines, log } = capture();
    const policy = new EgressPolicy({ log });
    const denied = refusal(() => policy.assertAllowed('127.0.0.1', 8088, 'siem.corp'));
    const causes = [denied, sys('ECONNREFUSED'), sys('EHOSTUNREACH'), sys('ENETUNREACH'), sys('ETIMEDOUT'), Object.assign(new Error('Connect Timeout Error'), { code: 'UND_ERR_CONNECT_TIMEOUT' })];
    const mapped = causes.map((c) => policy.connectFailure('siem.corp', 8088, c));
    for (const [i, m] of mapped.entries()) {
      expect(m).toBeInstanceOf(ConnectFailedError);
      expect(m.message).toBe('could not connect to siem.corp:8088');
      expect(Object.keys(m)).not.toContain('cause');
      expect((m as ConnectFailedError).detail).toBe(causes[i]);
    }
    expect(lines[0]).toMatchObject({ level: 'info', obj: { host: 'siem.corp', port: 8088, address: '127.0.0.1', reason: 'loopback' } });
    expect(lines[0]!.msg).toMatch(/egress refused: siem\.corp resolves to 127\.0\.0\.1, which is loopback/);
    expect(lines.slice(1).map((l) => [l.level, l.obj.code])).toEqual([
      ['debug', 'ECONNREFUSED'],
      ['debug', 'EHOSTUNREACH'],
      ['debug', 'ENETUNREACH'],
      ['debug', 'ETIMEDOUT'],
      ['debug', 'UND_ERR_CONNECT_TIMEOUT'],
    ]);
  });

  it('leaves other errors (DNS, TLS, reset) as they are', () => {
    const policy = new EgressPolicy();
    for (const code of ['ENOTFOUND', 'ECONNRESET', 'UNABLE_TO_VERIFY_LEAF_SIGNATURE']) {
      const err = sys(code);
      expect(policy.connectFailure('siem.corp', 443, err)).toBe(err);
    }
  });

  it('brackets IPv6 literals', () => {
    expect(connectFailureMessage('fd00::1', 514)).toBe('could not connect to [fd00::1]:514');
    expect(connectFailureMessage('[::1]', 514)).toBe('could not connect to [::1]:514');
  });
});
