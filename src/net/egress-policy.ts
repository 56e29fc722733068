import { BlockList, isIP } from 'node:net';
import { lookup } from 'node:dns/promises';

/** Why an address was refused. Used in {@link EgressDeniedError.reason} and its message. */
export const EgressDenyReason = {
  LOOPBACK: 'loopback',
  LINK_LOCAL: 'link-local',
  UNSPECIFIED: 'unspecified',
  MULTICAST: 'multicast',
  BROADCAST: 'broadcast',
  RESERVED: 'reserved',
  IPV4_COMPATIBLE: 'IPv4-compatible IPv6 (deprecated)',
  PRIVATE: 'private (RFC 1918)',
  SHARED_CGNAT: 'shared address space (CGNAT, RFC 6598)',
  UNIQUE_LOCAL: 'unique local (ULA, RFC 4193)',
  CLOUD_METADATA: 'a cloud metadata endpoint',
  NAT64_LOCAL: 'NAT64 local-use prefix (RFC 8215)',
} as const;
export type EgressDenyReason = (typeof EgressDenyReason)[keyof typeof EgressDenyReason];

/** Name of the environment variable holding extra allowed targets (comma-separated CIDRs or host:port). */
export const EGRESS_ALLOW_ENV = 'SIEMGATE_EGRESS_ALLOW';
/** Name of the environment variable that turns on refusal of private ranges (`true` / `false`). */
export const EGRESS_DENY_PRIVATE_ENV = 'SIEMGATE_EGRESS_DENY_PRIVATE';

type Family = 'ipv4' | 'ipv6';
interface Range {
  network: string;
  prefix: number;
  family: Family;
}

/**
 * Ranges refused by default, most specific first (the first match names the reason).
 * IPv4-mapped IPv6 addresses (`::ffff:127.0.0.1`, `::ffff:7f00:1`) match the IPv4 ranges: node's BlockList maps them.
 */
const DEFAULT_DENIED: readonly (readonly [EgressDenyReason, readonly Range[]])[] = [
  /**
   * Metadata services outside link-local: Alibaba Cloud's 100.100.100.200 (in the CGNAT range, which stays allowed:
   * carrier NAT and overlay networks such as Tailscale use it for real hosts) and AWS's IPv6 endpoint fd00:ec2::254
   * (in ULA fc00::/7, which stays allowed). 169.254.169.254 and friends are refused as link-local below.
   */
  [
    EgressDenyReason.CLOUD_METADATA,
    [
      { network: '100.100.100.200', prefix: 32, family: 'ipv4' },
      { network: 'fd00:ec2::254', prefix: 128, family: 'ipv6' },
    ],
  ],
  [EgressDenyReason.BROADCAST, [{ network: '255.255.255.255', prefix: 32, family: 'ipv4' }]],
  [
    EgressDenyReason.LOOPBACK,
    [
      { network: '127.0.0.0', prefix: 8, family: 'ipv4' },
      { network: '::1', prefix: 128, family: 'ipv6' },
    ],
  ],
  [
    EgressDenyReason.UNSPECIFIED,
    [
      { network: '0.0.0.0', prefix: 8, family: 'ipv4' },
      { network: '::', prefix: 128, family: 'ipv6' },
    ],
  ],
  [
    EgressDenyReason.LINK_LOCAL,
    [
      { network: '169.254.0.0', prefix: 16, family: 'ipv4' },
      { network: 'fe80::', prefix: 10, family: 'ipv6' },
    ],
  ],
  [
    EgressDenyReason.MULTICAST,
    [
      { network: '224.0.0.0', prefix: 4, family: 'ipv4' },
      { network: 'ff00::', prefix: 8, family: 'ipv6' },
    ],
  ],
  /** 240.0.0.0/4 "reserved for future use": not routable, never a legitimate SIEM. */
  [EgressDenyReason.RESERVED, [{ network: '240.0.0.0', prefix: 4, family: 'ipv4' }]],
  /** ::/96 minus :: and ::1 (matched above): deprecated IPv4-compatible addresses (`::127.0.0.1`). */
  [EgressDenyReason.IPV4_COMPATIBLE, [{ network: '::', prefix: 96, family: 'ipv6' }]],
  /**
   * RFC 8215 local-use NAT64: where the IPv4 address sits depends on the operator's prefix length (RFC 6052), so it cannot
   * be decoded reliably; refused whole (allow a prefix with SIEMGATE_EGRESS_ALLOW if a deployment needs it).
   */
  [EgressDenyReason.NAT64_LOCAL, [{ network: '64:ff9b:1::', prefix: 48, family: 'ipv6' }]],
];

/**
 * IPv6 forms that carry an IPv4 address the packet ends up at (or claims to): the embedded address is decoded and must
 * pass the IPv4 rules. `groups` is the fixed part (16-bit groups), `at` the index of the group holding the high half of the
 * IPv4 address. IPv4-compatible `::a.b.c.d` is refused whole above.
 */
const EMBEDDING_FORMS: readonly { name: string; groups: readonly number[]; at: number }[] = [
  { name: 'IPv4-mapped', groups: [0, 0, 0, 0, 0, 0xffff], at: 6 },
  { name: 'IPv4-translated (SIIT)', groups: [0, 0, 0, 0, 0xffff, 0], at: 6 },
  { name: 'NAT64', groups: [0x64, 0xff9b, 0, 0, 0, 0], at: 6 },
  { name: '6to4', groups: [0x2002], at: 1 },
];

/** Ranges refused only with `denyPrivate`. */
const PRIVATE_DENIED: readonly (readonly [EgressDenyReason, readonly Range[]])[] = [
  [
    EgressDenyReason.PRIVATE,
    [
      { network: '10.0.0.0', prefix: 8, family: 'ipv4' },
      { network: '172.16.0.0', prefix: 12, family: 'ipv4' },
      { network: '192.168.0.0', prefix: 16, family: 'ipv4' },
    ],
  ],
  [EgressDenyReason.SHARED_CGNAT, [{ network: '100.64.0.0', prefix: 10, family: 'ipv4' }]],
  [EgressDenyReason.UNIQUE_LOCAL, [{ network: 'fc00::', prefix: 7, family: 'ipv6' }]],
];

const IPV4_BITS = 32;
const IPV6_BITS = 128;
const MAX_PORT = 65_535;

export interface EgressPolicyOptions {
  /**
   * CIDRs (`"10.0.0.0/8"`, `"::1/128"`), single addresses (`"127.0.0.1"`, treated as /32 or /128), or host:port
   * (`"127.0.0.1:8088"`, `"[::1]:514"`, `"siem.local:514"`) exempt from refusal. A CIDR or address allows every port;
   * host:port allows only that port, and a host name entry allows whatever that name resolves to.
   * An invalid entry makes the constructor throw.
   * @default []
   */
  allow?: readonly string[];
  /** Also refuse RFC 1918 (10/8, 172.16/12, 192.168/16), 100.64/10 CGNAT and ULA fc00::/7. @default false */
  denyPrivate?: boolean;
  /** DNS resolver, for tests. @default dns.promises.lookup(host, { all: true, verbatim: true }) */
  resolve?: (host: string) => Promise<{ address: string; family: 4 | 6 }[]>;
  /**
   * Where {@link EgressPolicy.connectFailure} writes why a connection failed (policy refusals at info, network errors at
   * debug). The API only ever sees "could not connect to host:port". @default no logging
   */
  log?: EgressLog;
}

/** The part of a pino logger the policy uses. */
export interface EgressLog {
  info(obj: object, msg: string): void;
  debug(obj: object, msg: string): void;
}

/**
 * Thrown when a connection target is refused by the {@link EgressPolicy}.
 *
 * @example
 * ```ts
 * try { policy.assertAllowed('169.254.169.254', 80); }
 * catch (err) { if (err instanceof EgressDeniedError) console.warn(err.reason); } // "link-local"
 * ```
 */
export class EgressDeniedError extends Error {
  readonly code = 'SIEMGATE_EGRESS_DENIED';
  /** The host name the address came from (the address itself for IP literals). */
  readonly host: string;
  readonly address: string;
  readonly port: number;
  readonly reason: EgressDenyReason;
  /** For an IPv6 address that embeds a refused IPv4 address: the form (`NAT64`, `6to4`, ...) and that IPv4 address. */
  readonly embedded?: { form: string; ipv4: string };

  constructor(host: string, address: string, port: number, reason: EgressDenyReason, embedded?: { form: string; ipv4: string }) {
    const target = host && host !== address ? `${host} resolves to ${address}, which is` : `${address} is`;
    const what = embedded ? `${embedded.form} of ${embedded.ipv4}, which is ${reason}` : reason;
    super(`egress refused: ${target} ${what} (allow it with ${EGRESS_ALLOW_ENV})`);
    this.name = 'EgressDeniedError';
    this.host = host;
    this.address = address;
    this.port = port;
    this.reason = reason;
    if (embedded) this.embedded = embedded;
  }
}

/**
 * Node/undici error codes of a connection that could not be opened: refused, unreachable, timed out. Together with a
 * policy refusal they all read the same to the API ({@link connectFailureMessage}), so that the answers cannot be used to
 * map which private hosts and ports exist. Errors after the TCP connection is up (TLS, HTTP status, reset) are left as they are.
 */
export const CONNECT_FAILURE_CODES: ReadonlySet<string> = new Set([
  'ECONNREFUSED',
  'EHOSTUNREACH',
  'EHOSTDOWN',
  'ENETUNREACH',
  'ENETDOWN',
  'EADDRNOTAVAIL',
  'ETIMEDOUT',
  'UND_ERR_CONNECT_TIMEOUT',
]);

/** `could not connect to host:port` (IPv6 literals bracketed); the one answer for every connect failure. */
export function connectFailureMessage(host: string, port: number): string {
  const bare = bareAddress(host);
  return `could not connect to ${isIP(bare) === 6 ? `[${bare}]` : bare}:${port}`;
}

/**
 * A connection could not be opened: refused by the egress policy, refused by the peer, unreachable or timed out. The
 * message never says which ({@link connectFailureMessage}); the cause stays on {@link ConnectFailedError.detail} for the
 * server log only. Deliberately carries no `cause` property, so that error formatters that walk `cause` chains cannot
 * surface it.
 */
export class ConnectFailedError extends Error {
  readonly code = 'SIEMGATE_CONNECT_FAILED';
  readonly host: string;
  readonly port: number;
  readonly #detail: unknown;

  constructor(host: string, port: number, detail: unknown) {
    super(connectFailureMessage(host, port));
    this.name = 'ConnectFailedError';
    this.host = host;
    this.port = port;
    this.#detail = detail;
  }

  /** The underlying error (an {@link EgressDeniedError} or a system error); for logs, never for the API. */
  get detail(): unknown {
    return this.#detail;
  }
}

/** True when `error` (or what it wraps) is a policy refusal or one of {@link CONNECT_FAILURE_CODES}. */
export function isConnectFailure(error: unknown): boolean {
  let current: unknown = error;
  for (let depth = 0; depth < 5 && current instanceof Error; depth++) {
    if (current instanceof EgressDeniedError || current instanceof ConnectFailedError) return true;
    const code = (current as { code?: unknown }).code;
    if (typeof code === 'string' && CONNECT_FAILURE_CODES.has(code)) return true;
    current = (current as { cause?: unknown }).cause;
  }
  return false;
}

interface HostPortEntry {
  /** Lower-case host name, or a canonical IP address. */
  host: string;
  isAddress: boolean;
  port: number;
}

/** Removes `[...]` around an IPv6 literal and a `%zone` suffix. */
function bareAddress(value: string): string {
  let v = value.startsWith('[') && value.endsWith(']') ? value.slice(1, -1) : value;
  const zone = v.indexOf('%');
  if (zone >= 0 && isIP(v) === 6) v = v.slice(0, zone);
  return v;
}

function familyOf(address: string): Family | undefined {
  const v = isIP(address);
  return v === 4 ? 'ipv4' : v === 6 ? 'ipv6' : undefined;
}

/** The eight 16-bit groups of a bare IPv6 address (validated with isIP; the URL parser canonicalises dotted tails). */
function ipv6Groups(address: string): number[] {
  const canonical = new URL(`http://[${address}]/`).hostname.slice(1, -1);
  const [head = '', tail] = canonical.split('::');
  const parse = (part: string) => (part === '' ? [] : part.split(':').map((g) => Number.parseInt(g, 16)));
  const left = parse(head);
  const right = tail === undefined ? [] : parse(tail);
  return [...left, ...new Array<number>(8 - left.length - right.length).fill(0), ...right];
}

/** The IPv4 address an IPv6 address embeds (see {@link EMBEDDING_FORMS}), if it has one of those forms. */
function embeddedIpv4(address: string): { form: string; ipv4: string } | undefined {
  const groups = ipv6Groups(address);
  for (const form of EMBEDDING_FORMS) {
    if (!form.groups.every((g, i) => groups[i] === g)) continue;
    const high = groups[form.at]!;
    const low = groups[form.at + 1]!;
    return { form: form.name, ipv4: `${high >> 8}.${high & 0xff}.${low >> 8}.${low & 0xff}` };
  }
  return undefined;
}

function parsePort(text: string, entry: string): number {
  if (!/^\d{1,5}$/.test(text)) throw new Error(`invalid egress allow entry "${entry}": bad port`);
  const port = Number(text);
  if (port < 1 || port > MAX_PORT) throw new Error(`invalid egress allow entry "${entry}": port out of range`);
  return port;
}

/**
 * Decides which addresses siemgate may open connections to (SSRF protection).
 *
 * Refused unless allowed: loopback (127/8, ::1), link-local (169.254/16 incl. cloud metadata, fe80::/10), the cloud
 * metadata hosts 100.100.100.200 and fd00:ec2::254, unspecified (0/8, ::), multicast (224/4, ff00::/8), broadcast and
 * 240/4, IPv4-compatible ::/96, NAT64 local-use 64:ff9b:1::/48, and every IPv6 form that embeds a refused IPv4 address
 * (IPv4-mapped `::ffff:a.b.c.d`, SIIT `::ffff:0:a.b.c.d`, NAT64 `64:ff9b::a.b.c.d`, 6to4 `2002:AABB:CCDD::`): the
 * embedded address is decoded and the IPv4 rules run on it. With `denyPrivate` also RFC 1918, all of CGNAT 100.64/10 and ULA.
 * Allow entries match the address as written (an entry for 127.0.0.1 does not allow `64:ff9b::7f00:1`).
 * Callers connect to exactly the address that {@link EgressPolicy.resolve} returned, so a second
 * DNS answer can never redirect a connection (no DNS rebinding).
 *
 * @example
 * ```ts
 * const policy = new EgressPolicy({ allow: ['127.0.0.1/32'], denyPrivate: true });
 * const { address } = await policy.resolve('splunk.example.com', 8088);
 * net.connect({ host: address, port: 8088 });
 * ```
 */
export class EgressPolicy {
  private readonly allowList = new BlockList();
  private readonly allowHostPorts: HostPortEntry[] = [];
  private readonly denied: { reason: EgressDenyReason; list: BlockList }[] = [];
  private readonly lookupHost: (host: string) => Promise<{ address: string; family: 4 | 6 }[]>;
  private readonly log: EgressLog | undefined;

  constructor(options: EgressPolicyOptions = {}) {
    this.log = options.log;
    for (const entry of options.allow ?? []) this.addAllowEntry(entry.trim());
    const groups = options.denyPrivate ? [...DEFAULT_DENIED, ...PRIVATE_DENIED] : DEFAULT_DENIED;
    for (const [reason, ranges] of groups) {
      const list = new BlockList();
      for (const r of ranges) list.addSubnet(r.network, r.prefix, r.family);
      this.denied.push({ reason, list });
    }
    this.lookupHost =
      options.resolve ??
      (async (host) => {
        const answers = await lookup(host, { all: true, verbatim: true });
        return answers.map((a) => ({ address: a.address, family: a.family === 6 ? 6 : 4 }));
      });
  }

  /**
   * Builds a policy from `SIEMGATE_EGRESS_ALLOW` (comma-separated entries as in {@link EgressPolicyOptions.allow})
   * and `SIEMGATE_EGRESS_DENY_PRIVATE` (`true`/`false`, default false). Throws an Error naming the setting on bad values.
   *
   * @example
   * ```ts
   * const policy = EgressPolicy.fromEnv({ SIEMGATE_EGRESS_ALLOW: '10.1.0.0/16,siem.local:514' });
   * ```
   */
  static fromEnv(env: NodeJS.ProcessEnv): EgressPolicy {
    const allow = (env[EGRESS_ALLOW_ENV] ?? '')
      .split(',')
      .map((s) => s.trim())
      .filter((s) => s.length > 0);
    const rawDeny = (env[EGRESS_DENY_PRIVATE_ENV] ?? '').trim().toLowerCase();
    if (rawDeny !== '' && rawDeny !== 'true' && rawDeny !== 'false') {
      throw new Error(`${EGRESS_DENY_PRIVATE_ENV} must be "true" or "false", got "${env[EGRESS_DENY_PRIVATE_ENV]}"`);
    }
    try {
      return new EgressPolicy({ allow, denyPrivate: rawDeny === 'true' });
    } catch (err) {
      throw new Error(`${EGRESS_ALLOW_ENV}: ${(err as Error).message}`);
    }
  }

  /**
   * Throws {@link EgressDeniedError} when connecting to this literal IP:port is not allowed.
   * `host` is the name it came from (for the message and host:port allow entries).
   *
   * @example
   * ```ts
   * policy.assertAllowed('10.0.0.5', 6514, 'syslog.corp');
   * ```
   */
  assertAllowed(address: string, port: number, host?: string): void {
    const bare = bareAddress(address);
    const family = familyOf(bare);
    if (!family) throw new TypeError(`not an IP address: ${address}`);
    if (this.isExempt(bare, family, port, host)) return;
    for (const { reason, list } of this.denied) {
      if (list.check(bare, family)) throw new EgressDeniedError(host ?? bare, bare, port, reason);
    }
    const embedded = family === 'ipv6' ? embeddedIpv4(bare) : undefined;
    if (!embedded) return;
    for (const { reason, list } of this.denied) {
      if (list.check(embedded.ipv4, 'ipv4')) throw new EgressDeniedError(host ?? bare, bare, port, reason, embedded);
    }
  }

  /**
   * Turns a failure to open a connection to `host:port` into the one answer the API gets, {@link ConnectFailedError}
   * ("could not connect to host:port"), and logs the real cause: a policy refusal at info (with its reason), a refused,
   * unreachable or timed-out connection at debug. Any other error (DNS, TLS, reset after connect) is returned unchanged.
   * Transports call it on every error of their connect phase.
   *
   * @example
   * ```ts
   * socket.once('error', (err) => reject(policy.connectFailure(host, port, err)));
   * ```
   */
  connectFailure(host: string, port: number, error: unknown): Error {
    if (error instanceof ConnectFailedError || !isConnectFailure(error)) return error instanceof Error ? error : new Error(String(error));
    const name = bareAddress(host);
    if (error instanceof EgressDeniedError) {
      this.log?.info(
        { host: name, port, address: error.address, reason: error.reason, ...(error.embedded ? { embedded: error.embedded } : {}) },
        error.message,
      );
    } else {
      const e = error as { code?: string; message?: string };
      this.log?.debug({ host: name, port, code: e.code, err: e.message }, `could not connect to ${name}:${port}`);
    }
    return new ConnectFailedError(name, port, error);
  }

  /**
   * Resolves `host` (or takes an IP literal as is, brackets allowed), returns the first allowed address.
   * Throws {@link EgressDeniedError} (for the first address) when every address is refused; DNS errors propagate (code ENOTFOUND etc).
   *
   * @example
   * ```ts
   * const { address, family } = await policy.resolve('hec.example.com', 443);
   * ```
   */
  async resolve(host: string, port: number): Promise<{ address: string; family: 4 | 6 }> {
    const literal = bareAddress(host);
    const literalFamily = isIP(literal);
    if (literalFamily !== 0) {
      this.assertAllowed(literal, port, literal);
      return { address: literal, family: literalFamily === 6 ? 6 : 4 };
    }
    const answers = await this.lookupHost(host);
    if (answers.length === 0) {
      throw Object.assign(new Error(`getaddrinfo ENOTFOUND ${host}`), { code: 'ENOTFOUND', hostname: host });
    }
    let firstRefusal: unknown;
    for (const answer of answers) {
      try {
        this.assertAllowed(answer.address, port, host);
        return { address: bareAddress(answer.address), family: answer.family };
      } catch (err) {
        firstRefusal ??= err;
      }
    }
    throw firstRefusal;
  }

  private isExempt(address: string, family: Family, port: number, host: string | undefined): boolean {
    if (this.allowList.check(address, family)) return true;
    const name = host ? bareAddress(host).toLowerCase() : undefined;
    return this.allowHostPorts.some((e) => {
      if (e.port !== port) return false;
      if (e.isAddress) return this.sameAddress(e.host, address);
      return name !== undefined && name === e.host;
    });
  }

  private sameAddress(a: string, b: string): boolean {
    const list = new BlockList();
    const fa = familyOf(a);
    const fb = familyOf(b);
    if (!fa || !fb) return false;
    list.addAddress(a, fa);
    return list.check(b, fb);
  }

  private addAllowEntry(entry: string): void {
    if (entry === '') return;
    const slash = entry.indexOf('/');
    if (slash >= 0) {
      const network = bareAddress(entry.slice(0, slash));
      const family = familyOf(network);
      const prefixText = entry.slice(slash + 1);
      const max = family === 'ipv4' ? IPV4_BITS : IPV6_BITS;
      if (!family || !/^\d{1,3}$/.test(prefixText) || Number(prefixText) > max) {
        throw new Error(`invalid egress allow entry "${entry}": expected a CIDR like 10.0.0.0/8 or fd00::/8`);
      }
      this.allowList.addSubnet(network, Number(prefixText), family);
      return;
    }
    const asAddress = familyOf(bareAddress(entry));
    if (asAddress) {
      this.allowList.addAddress(bareAddress(entry), asAddress);
      return;
    }
    let hostPart: string;
    let portPart: string;
    if (entry.startsWith('[')) {
      const close = entry.indexOf(']:');
      if (close < 0) throw new Error(`invalid egress allow entry "${entry}": expected [IPv6]:port`);
      hostPart = entry.slice(1, close);
      portPart = entry.slice(close + 2);
      if (familyOf(hostPart) !== 'ipv6') throw new Error(`invalid egress allow entry "${entry}": not an IPv6 address`);
    } else {
      const colon = entry.lastIndexOf(':');
      if (colon <= 0) throw new Error(`invalid egress allow entry "${entry}": expected a CIDR, an IP address or host:port`);
      hostPart = entry.slice(0, colon);
      portPart = entry.slice(colon + 1);
      if (!/^[A-Za-z0-9.-]+$/.test(hostPart)) throw new Error(`invalid egress allow entry "${entry}": bad host name`);
    }
    const port = parsePort(portPart, entry);
    this.allowHostPorts.push({ host: hostPart.toLowerCase(), isAddress: familyOf(hostPart) !== undefined, port });
  }
}
