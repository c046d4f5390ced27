/**
 * The SSRF guard in front of every archive download.
 *
 * Download URLs come from provider APIs, so a compromised or misconfigured
 * provider (an on-premises Kore.ai returning an internal host, REFERENCE) must
 * not make a Lambda fetch from its VPC, the instance metadata service or
 * localhost. Rules, unless the URL's origin is on the operator's allowlist:
 *  - https only, on its standard port, no credentials in the URL;
 *  - the host must match the provider's expected hosts (exact or `*.suffix`);
 *  - every address the host resolves to must be public (checked inside the
 *    socket's `lookup`, so the address that is checked is the one connected
 *    to: no gap for DNS rebinding between check and connect);
 *  - redirects are never followed (a 3xx is refused), so a public host
 *    cannot bounce us to an internal one.
 * node:http(s) `request` instead of fetch: fetch follows redirects by default
 * and offers no hook on the resolved address.
 *
 * Presigned URLs are bearer secrets: errors and logs carry only
 * scheme + host + path (redactUrl), never the query string.
 */
import { lookup as dnsLookup, type LookupAddress } from 'node:dns';
import http, { type IncomingHttpHeaders } from 'node:http';
import https from 'node:https';
import { isIP, type LookupFunction } from 'node:net';
import type { Readable } from 'node:stream';
import { ProviderUnavailableError, UnsafeUrlError } from './errors';

export interface DownloadGuardOptions {
  /** Hosts the provider serves downloads from: exact names or `*.suffix` patterns. */
  readonly allowedHosts: readonly string[];
  /** Operator allowlist of origins (`http://127.0.0.1:4010`) that may use http and any address. */
  readonly allowedOrigins: readonly string[];
  readonly signal?: AbortSignal;
  /** Fail when the connection is silent this long (connect or body). @default 30000 */
  readonly idleTimeoutMs?: number;
  /**
   * Fail when the whole download (head and body) takes longer than this. A
   * body that drips slowly never trips the idle timeout; without a deadline it
   * would run until Lambda kills the function, and a killed function cannot
   * abort its multipart upload. @default no deadline
   */
  readonly deadlineMs?: number;
  /** Resolves host names; every address it answers is checked before connecting. @default dns.lookup */
  readonly resolver?: LookupFunction;
}

export interface DownloadResponse {
  readonly status: number;
  readonly headers: IncomingHttpHeaders;
  readonly body: Readable;
}

export interface UrlDecision {
  readonly url: URL;
  /** True when the origin is on the operator's allowlist (http and any address allowed). */
  readonly allowlisted: boolean;
}

/** `https://host/path` without query, fragment or credentials: safe to log and to put in errors. */
export function redactUrl(url: string | URL): string {
  try {
    const u = typeof url === 'string' ? new URL(url) : url;
    return `${u.protocol}//${u.host}${u.pathname}`;
  } catch {
    return '(unparseable URL)';
  }
}

const duration = (ms: number) => (ms < 1000 ? `${ms} ms` : `${Math.round(ms / 1000)} s`);

function redactLocation(location: string, base: URL): string {
  try {
    return redactUrl(new URL(location, base));
  } catch {
    return '(unparseable location)';
  }
}

/** Host names compare without case and without a trailing root dot. */
function normalizeHost(host: string): string {
  return host.toLowerCase().replace(/\.$/, '');
}

/** `s3.amazonaws.com` matches exactly; `*.s3.amazonaws.com` matches any name ending in `.s3.amazonaws.com` (not the bare suffix). */
export function hostMatches(host: string, patterns: readonly string[]): boolean {
  const h = normalizeHost(host);
  return patterns.some((raw) => {
    const p = normalizeHost(raw);
    if (p.startsWith('*.')) {
      const suffix = p.slice(1);
      return h.length > suffix.length && h.endsWith(suffix);
    }
    return h === p;
  });
}

// ---- addresses ----

interface Range {
  readonly base: bigint;
  readonly bits: number;
  readonly label: string;
}

function ipv4ToBigInt(address: string): bigint {
  return address.split('.').reduce((acc, part) => (acc << 8n) | BigInt(Number(part)), 0n);
}

function ipv6ToBigInt(address: string): bigint {
  let text = address.split('%')[0]!;
  // A trailing dotted quad (::ffff:1.2.3.4) is two hextets.
  const dotted = /(\d+\.\d+\.\d+\.\d+)$/.exec(text);
  if (dotted) {
    const v4 = ipv4ToBigInt(dotted[1]!);
    text = `${text.slice(0, -dotted[1]!.length)}${(v4 >> 16n).toString(16)}:${(v4 & 0xffffn).toString(16)}`;
  }
  const [left, right] = text.includes('::') ? text.split('::') : [text, undefined];
  const head = left ? left.split(':') : [];
  const tail = right ? right.split(':') : [];
  const groups = right === undefined ? head : [...head, ...Array(8 - head.length - tail.length).fill('0'), ...tail];
  return groups.reduce((acc, g) => (acc << 16n) | BigInt(parseInt(g || '0', 16)), 0n);
}

const v4 = (cidr: string, label: string): Range => {
  const [base, bits] = cidr.split('/');
  return { base: ipv4ToBigInt(base!), bits: Number(bits), label };
};
const v6 = (cidr: string, label: string): Range => {
  const [base, bits] = cidr.split('/');
  return { base: ipv6ToBigInt(base!), bits: Number(bits), label };
};

/** Addresses a download must never reach (RFC 6890 special-purpose blocks that are not the public internet). */
const IPV4_FORBIDDEN: readonly Range[] = [
  v4('0.0.0.0/8', 'unspecified ("this network")'),
  v4('10.0.0.0/8', 'private (10/8)'),
  v4('100.64.0.0/10', 'carrier-grade NAT (100.64/10)'),
  v4('127.0.0.0/8', 'loopback'),
  v4('169.254.0.0/16', 'link-local (169.254/16, instance metadata)'),
  v4('172.16.0.0/12', 'private (172.16/12)'),
  v4('192.0.0.0/24', 'IETF protocol assignments (192.0.0/24)'),
  v4('192.0.2.0/24', 'documentation (TEST-NET-1)'),
  v4('192.168.0.0/16', 'private (192.168/16)'),
  v4('198.18.0.0/15', 'benchmarking (198.18/15)'),
  v4('198.51.100.0/24', 'documentation (TEST-NET-2)'),
  v4('203.0.113.0/24', 'documentation (TEST-NET-3)'),
  v4('224.0.0.0/4', 'multicast'),
  v4('240.0.0.0/4', 'reserved (240/4, broadcast)'),
];
const IPV6_FORBIDDEN: readonly Range[] = [
  v6('::/128', 'unspecified'),
  v6('::1/128', 'loopback'),
  v6('fe80::/10', 'link-local (fe80::/10)'),
  v6('fec0::/10', 'site-local (fec0::/10)'),
  v6('fc00::/7', 'unique local (fc00::/7)'),
  v6('ff00::/8', 'multicast'),
  v6('2001:db8::/32', 'documentation (2001:db8::/32)'),
];
const low32 = (value: bigint) => value & 0xffffffffn;
/**
 * IPv6 forms that embed an IPv4 address, and where it sits:
 * IPv4-mapped ::ffff:a.b.c.d and IPv4-compatible ::a.b.c.d (RFC 4291 §2.5.5),
 * IPv4-translated ::ffff:0:a.b.c.d (RFC 2765 §2.1), NAT64 64:ff9b::/96
 * (RFC 6052 §2.1) and 64:ff9b:1::/48 (RFC 8215; the IPv4 address in the low
 * 32 bits, as a /96 prefix would place it), 6to4 2002:AABB:CCDD::/48 (RFC
 * 3056 §2), and Teredo 2001:0::/32 (RFC 4380 §4: the server's IPv4 in bits
 * 32-63, the client's as the bitwise NOT of the low 32 bits).
 */
const EMBEDDED_IPV4: readonly { range: Range; extract: (value: bigint) => bigint[] }[] = [
  { range: v6('::ffff:0:0/96', 'an IPv4-mapped form'), extract: (x) => [low32(x)] },
  { range: v6('::ffff:0:0:0/96', 'an IPv4-translated form'), extract: (x) => [low32(x)] },
  { range: v6('::/96', 'an IPv4-compatible form'), extract: (x) => [low32(x)] },
  { range: v6('64:ff9b::/96', 'a NAT64 form (64:ff9b::/96)'), extract: (x) => [low32(x)] },
  { range: v6('64:ff9b:1::/48', 'a local NAT64 form (64:ff9b:1::/48)'), extract: (x) => [low32(x)] },
  { range: v6('2002::/16', 'a 6to4 form (2002::/16)'), extract: (x) => [(x >> 80n) & 0xffffffffn] },
  { range: v6('2001::/32', 'a Teredo form (2001::/32)'), extract: (x) => [(x >> 64n) & 0xffffffffn, low32(x) ^ 0xffffffffn] },
];

function inRange(value: bigint, range: Range, width: number): boolean {
  const shift = BigInt(width - range.bits);
  return value >> shift === range.base >> shift;
}

/** Why `address` (an IP literal) is not a public address, or undefined when it is. */
export function forbiddenAddressReason(address: string): string | undefined {
  const family = isIP(address.split('%')[0]!);
  if (family === 4) {
    const value = ipv4ToBigInt(address);
    return IPV4_FORBIDDEN.find((r) => inRange(value, r, 32))?.label;
  }
  if (family === 6) {
    const value = ipv6ToBigInt(address);
    const forbidden = IPV6_FORBIDDEN.find((r) => inRange(value, r, 128))?.label;
    if (forbidden) return forbidden;
    // An address that carries an IPv4 address reaches that IPv4 address (through a dual-stack socket,
    // a NAT64 gateway, a 6to4 or Teredo relay): it is judged by the IPv4 address it embeds.
    for (const form of EMBEDDED_IPV4) {
      if (!inRange(value, form.range, 128)) continue;
      for (const embedded of form.extract(value)) {
        const reason = IPV4_FORBIDDEN.find((r) => inRange(embedded, r, 32))?.label;
        if (reason) return `${form.range.label} of an address that is ${reason}`;
      }
      return undefined;
    }
    return undefined;
  }
  return 'not an IP address';
}

// ---- the decision ----

/** True when `url`'s origin is one of the operator's allowlisted origins (downloadAllowlist): local simulators. */
export function isAllowlistedOrigin(url: URL, allowedOrigins: readonly string[]): boolean {
  return allowedOrigins.some((o) => {
    try {
      return new URL(o).origin === url.origin;
    } catch {
      return false;
    }
  });
}

/**
 * Decides, without any network access, whether `url` may be fetched at all.
 * The resolved-address rule is applied later, at connect time (guardedLookup),
 * except for IP-literal hosts, which are checked here because Node skips the
 * lookup for them.
 */
export function assessUrl(url: string, opts: Pick<DownloadGuardOptions, 'allowedHosts' | 'allowedOrigins'>): UrlDecision {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    throw new UnsafeUrlError('Refusing to download: the provider returned a download URL that does not parse.');
  }
  const shown = redactUrl(u);
  const allowlisted = isAllowlistedOrigin(u, opts.allowedOrigins);
  if (u.protocol !== 'https:' && u.protocol !== 'http:')
    throw new UnsafeUrlError(`Refusing to download ${shown}: scheme ${u.protocol} is not https.`);
  if (u.username || u.password) throw new UnsafeUrlError(`Refusing to download ${shown}: the URL carries credentials.`);
  if (allowlisted) return { url: u, allowlisted: true };

  if (u.protocol !== 'https:') {
    throw new UnsafeUrlError(
      `Refusing to download ${shown}: only https is allowed (add the origin ${u.origin} to downloadAllowlist if this is a trusted local server).`,
    );
  }
  const host = u.hostname.replace(/^\[|\]$/g, '');
  if (!hostMatches(host, opts.allowedHosts)) {
    throw new UnsafeUrlError(
      `Refusing to download ${shown}: host ${host} is not one this provider serves downloads from (${opts.allowedHosts.join(', ') || 'none'}).`,
    );
  }
  if (u.port !== '') throw new UnsafeUrlError(`Refusing to download ${shown}: only the standard https port is allowed.`);
  if (isIP(host)) {
    const reason = forbiddenAddressReason(host);
    if (reason) throw new UnsafeUrlError(`Refusing to download ${shown}: ${host} is a ${reason} address.`);
  }
  return { url: u, allowlisted: false };
}

/** dns.lookup that refuses the connection when any resolved address is not public. */
export function guardedLookup(shown: string, resolver: LookupFunction = dnsLookup as unknown as LookupFunction): LookupFunction {
  return (hostname, options, callback) => {
    resolver(hostname, options, (err, address, family) => {
      if (err) return callback(err, address as string, family);
      const all: LookupAddress[] = Array.isArray(address) ? address : [{ address: address as string, family: family ?? 4 }];
      for (const a of all) {
        const reason = forbiddenAddressReason(a.address);
        if (reason) {
          return callback(
            Object.assign(new UnsafeUrlError(`Refusing to download ${shown}: ${hostname} resolves to ${a.address}, a ${reason} address.`), {
              code: 'EUNSAFEADDRESS',
            }),
            address as string,
            family,
          );
        }
      }
      callback(null, address as string, family);
    });
  };
}

/**
 * Opens a GET on `url` after the checks above and resolves with the response
 * head; the caller consumes (or destroys) `body`. Never follows redirects.
 * Connection failures are ProviderUnavailableError (a later attempt, with a
 * fresh URL, may work); refusals are UnsafeUrlError.
 */
export async function openDownload(url: string, opts: DownloadGuardOptions): Promise<DownloadResponse> {
  const { url: target, allowlisted } = assessUrl(url, opts);
  const shown = redactUrl(target);
  const idleTimeoutMs = opts.idleTimeoutMs ?? 30_000;
  const transport = target.protocol === 'https:' ? https : http;

  return new Promise<DownloadResponse>((resolve, reject) => {
    let settled = false;
    let response: http.IncomingMessage | undefined;
    const req = transport.request(target, {
      method: 'GET',
      headers: { accept: '*/*', 'accept-encoding': 'identity', 'user-agent': 'botvault' },
      // No pooling: a pooled socket is keyed by host and port, not by our lookup, so a socket opened
      // for an allowlisted request could otherwise be reused without the address check.
      agent: false,
      ...(allowlisted ? {} : { lookup: guardedLookup(shown, opts.resolver) }),
      ...(opts.signal ? { signal: opts.signal } : {}),
    });
    const deadline =
      opts.deadlineMs === undefined
        ? undefined
        : setTimeout(() => {
            const err = new ProviderUnavailableError(`Download from ${shown} did not finish within ${duration(opts.deadlineMs!)}.`);
            if (response) response.destroy(err);
            req.destroy(err);
          }, opts.deadlineMs);
    deadline?.unref();
    req.on('close', () => {
      if (!response) clearTimeout(deadline);
    });
    req.setTimeout(idleTimeoutMs, () => {
      const err = new ProviderUnavailableError(`Download from ${shown} stalled: no data for ${duration(idleTimeoutMs)}.`);
      // Mid-body, the reader listens on the body: give it this error rather than a bare "aborted".
      if (response) response.destroy(err);
      req.destroy(err);
    });
    req.on('error', (err: Error & { code?: string }) => {
      if (settled) return; // after the head arrived, errors surface on the body stream
      settled = true;
      if (err instanceof UnsafeUrlError || err instanceof ProviderUnavailableError) return reject(err);
      if (err.name === 'AbortError') return reject(err);
      reject(
        new ProviderUnavailableError(`Download from ${shown} failed before a response: ${err.code ?? err.name}: ${err.message}`, { cause: err }),
      );
    });
    req.on('response', (res) => {
      settled = true;
      response = res;
      res.once('close', () => clearTimeout(deadline));
      const status = res.statusCode ?? 0;
      if (status >= 300 && status < 400) {
        res.destroy();
        const location = typeof res.headers.location === 'string' ? ` to ${redactLocation(res.headers.location, target)}` : '';
        return reject(new UnsafeUrlError(`Refusing to follow a ${status} redirect from ${shown}${location}: downloads never follow redirects.`));
      }
      resolve({ status, headers: res.headers, body: res });
    });
    req.end();
  });
}
