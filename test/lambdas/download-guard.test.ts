import type { LookupAddress } from 'node:dns';
import { once } from 'node:events';
import http from 'node:http';
import https from 'node:https';
import net, { type AddressInfo, type LookupFunction } from 'node:net';
import { afterAll, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { assessUrl, forbiddenAddressReason, guardedLookup, hostMatches, openDownload, redactUrl } from '../../lib/core/download-guard';
import { ProviderUnavailableError, UnsafeUrlError } from '../../lib/core/errors';
import { lexDownloadHosts } from '../../lib/providers/lex/provider';

const S3_HOSTS = lexDownloadHosts('us-east-1');
const SECRET_QUERY = '?X-Amz-Credential=AKIDEXAMPLE&X-Amz-Signature=topsecretsignature';

function refusal(fn: () => unknown): UnsafeUrlError {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(UnsafeUrlError);
    expect((err as Error).message).not.toContain('topsecretsignature');
    return err as UnsafeUrlError;
  }
  throw new Error('expected an UnsafeUrlError');
}

async function refusalAsync(p: Promise<unknown>): Promise<Error> {
  const err = await p.then(
    () => {
      throw new Error('expected the download to be refused');
    },
    (e: unknown) => e as Error,
  );
  expect(err.message).not.toContain('topsecretsignature');
  return err;
}

describe('download guard: the URL decision (no network)', () => {
  const opts = { allowedHosts: S3_HOSTS, allowedOrigins: [] };

  it('allows https to an expected S3 host, virtual-hosted and path style', () => {
    for (const url of [
      `https://lex-exports.s3.us-east-1.amazonaws.com/bot.zip${SECRET_QUERY}`,
      `https://s3.us-east-1.amazonaws.com/lex-exports/bot.zip${SECRET_QUERY}`,
      `https://lex-exports.s3.amazonaws.com/bot.zip`,
      `https://LEX-EXPORTS.S3.AMAZONAWS.COM./bot.zip`,
    ]) {
      expect(assessUrl(url, opts).allowlisted).toBe(false);
    }
  });

  it('refuses plain http', () => {
    expect(refusal(() => assessUrl(`http://lex-exports.s3.amazonaws.com/bot.zip${SECRET_QUERY}`, opts)).message).toMatch(/only https/);
  });

  it('refuses other schemes, credentials in the URL and non-standard ports', () => {
    expect(refusal(() => assessUrl('file:///etc/passwd', opts)).message).toMatch(/scheme file:/);
    expect(refusal(() => assessUrl(`https://user:pw@lex-exports.s3.amazonaws.com/bot.zip`, opts)).message).toMatch(/credentials/);
    expect(refusal(() => assessUrl(`https://lex-exports.s3.amazonaws.com:8443/bot.zip${SECRET_QUERY}`, opts)).message).toMatch(/standard https port/);
    expect(refusal(() => assessUrl('not a url', opts)).message).toMatch(/does not parse/);
  });

  it('refuses hosts the provider does not serve downloads from, including other *.amazonaws.com names', () => {
    for (const host of [
      'evil.example.com',
      'ec2-1-2-3-4.compute-1.amazonaws.com',
      'amazonaws.com',
      's3.amazonaws.com.evil.com',
      'xs3.amazonaws.com',
      'bucket.s3.eu-west-1.amazonaws.com',
    ]) {
      const err = refusal(() => assessUrl(`https://${host}/bot.zip${SECRET_QUERY}`, opts));
      expect(err.message).toMatch(/is not one this provider serves downloads from/);
    }
  });

  it('refuses an IP-literal host in a private, loopback or metadata range even when the host list names it', () => {
    for (const ip of ['127.0.0.1', '169.254.169.254', '10.0.0.5', '[::1]', '[fd00::1]', '[::ffff:127.0.0.1]']) {
      const host = ip.replace(/^\[|\]$/g, '');
      const err = refusal(() =>
        assessUrl(`https://${ip}/latest/meta-data${SECRET_QUERY}`, { allowedHosts: [host, '::ffff:7f00:1'], allowedOrigins: [] }),
      );
      expect(err.message).toMatch(/address/);
    }
  });

  it('lets an allowlisted origin use http and any address, and only that exact origin', () => {
    const local = { allowedHosts: [], allowedOrigins: ['http://127.0.0.1:4010'] };
    expect(assessUrl(`http://127.0.0.1:4010/exports/1/download${SECRET_QUERY}`, local)).toMatchObject({ allowlisted: true });
    refusal(() => assessUrl('http://127.0.0.1:4011/exports/1/download', local));
    refusal(() => assessUrl('https://127.0.0.1:4010/exports/1/download', local));
  });

  it('matches *.suffix patterns only below the suffix', () => {
    expect(hostMatches('a.b.example.com', ['*.example.com'])).toBe(true);
    expect(hostMatches('example.com', ['*.example.com'])).toBe(false);
    expect(hostMatches('badexample.com', ['*.example.com'])).toBe(false);
    expect(hostMatches('Example.COM.', ['example.com'])).toBe(true);
  });

  it('classifies addresses', () => {
    const forbidden = [
      '127.0.0.1',
      '127.255.0.9',
      '10.1.2.3',
      '172.16.0.1',
      '172.31.255.255',
      '192.168.1.1',
      '169.254.169.254',
      '100.64.0.1',
      '100.127.255.254',
      '0.0.0.0',
      '224.0.0.1',
      '255.255.255.255',
      '::',
      '::1',
      'fe80::1',
      'febf::1',
      'fc00::1',
      'fd12:3456::1',
      '::ffff:127.0.0.1',
      '::ffff:7f00:1',
      '::ffff:a9fe:a9fe',
      'ff02::1',
    ];
    const allowed = [
      '8.8.8.8',
      '52.216.1.1',
      '172.32.0.1',
      '172.15.255.255',
      '100.128.0.1',
      '192.169.0.1',
      '2606:4700::1111',
      '::ffff:8.8.8.8',
      '2a05:d018::1',
    ];
    for (const a of forbidden) expect(forbiddenAddressReason(a), a).toBeDefined();
    for (const a of allowed) expect(forbiddenAddressReason(a), a).toBeUndefined();
    expect(forbiddenAddressReason('169.254.169.254')).toMatch(/link-local/);
    expect(forbiddenAddressReason('100.64.0.1')).toMatch(/carrier-grade NAT/);
    expect(forbiddenAddressReason('fd00::1')).toMatch(/unique local/);
  });

  it('IPv6 forms that embed an IPv4 address are judged by the address they embed (each reached metadata or loopback before)', () => {
    const cases: [string, RegExp | undefined][] = [
      // NAT64 (RFC 6052): a gateway turns these into 169.254.169.254 and 10.0.0.1.
      ['64:ff9b::a9fe:a9fe', /NAT64 form .* link-local/],
      ['64:ff9b::169.254.169.254', /NAT64 form .* link-local/],
      ['64:ff9b:1::a00:1', /local NAT64 form .* private \(10\/8\)/],
      ['64:ff9b::808:808', undefined],
      // 6to4 (RFC 3056): the IPv4 address in bits 16-47.
      ['2002:7f00:1::1', /6to4 form .* loopback/],
      ['2002:808:808::1', undefined],
      // Teredo (RFC 4380): the server's address, and the client's inverted in the low 32 bits.
      ['2001:0:a9fe:a9fe::1', /Teredo form .* link-local/],
      ['2001:0:808:808::80ff:fffe', /Teredo form .* loopback/],
      ['2001:0:4136:e378:8000:63bf:3fff:fdd2', /Teredo form .* documentation/],
      // IPv4-compatible (RFC 4291) and IPv4-translated (RFC 2765).
      ['::127.0.0.1', /IPv4-compatible form .* loopback/],
      ['::a9fe:a9fe', /IPv4-compatible form .* link-local/],
      ['::ffff:0:10.0.0.1', /IPv4-translated form .* private/],
      ['::ffff:0:a00:1', /IPv4-translated form .* private/],
      ['2001:db8::1', /documentation/],
    ];
    for (const [address, reason] of cases) {
      if (reason) expect(forbiddenAddressReason(address), address).toMatch(reason);
      else expect(forbiddenAddressReason(address), address).toBeUndefined();
    }
  });

  it('the lookup refuses a name that resolves to loopback (with and without all: true)', async () => {
    const lookup = guardedLookup('https://localhost/x');
    for (const options of [{}, { all: true }]) {
      const err = await new Promise<Error | null>((resolve) => lookup('localhost', options, (e) => resolve(e)));
      expect(err).toBeInstanceOf(UnsafeUrlError);
      expect(err!.message).toMatch(/resolves to (127\.0\.0\.1|::1), a loopback address/);
    }
  });

  it('redacts the query string', () => {
    expect(redactUrl(`https://b.s3.amazonaws.com/a/b.zip${SECRET_QUERY}#frag`)).toBe('https://b.s3.amazonaws.com/a/b.zip');
  });
});

describe('download guard: openDownload against a local server that counts what it serves', () => {
  let server: http.Server;
  let origin: string;
  let requests: string[] = [];
  let bytesSent = 0;
  let redirectTarget: http.Server;
  let redirectOrigin: string;
  let redirectRequests = 0;

  beforeAll(async () => {
    redirectTarget = http.createServer((_req, res) => {
      redirectRequests++;
      res.end('internal secrets');
    });
    redirectTarget.listen(0, '127.0.0.1');
    await once(redirectTarget, 'listening');
    redirectOrigin = `http://127.0.0.1:${(redirectTarget.address() as AddressInfo).port}`;

    server = http.createServer((req, res) => {
      requests.push(req.url ?? '');
      const path = new URL(req.url ?? '/', 'http://x').pathname;
      if (path === '/redirect') {
        res.writeHead(302, { location: `${redirectOrigin}/latest/meta-data?token=topsecretsignature` });
        return res.end();
      }
      if (path === '/stall') return; // never answers
      if (path === '/drip') {
        res.writeHead(200, { 'content-length': 1_000_000 });
        const t = setInterval(() => (res.destroyed ? clearInterval(t) : res.write('x')), 20);
        res.on('close', () => clearInterval(t));
        return;
      }
      const body = Buffer.from('PK\x03\x04 pretend archive');
      bytesSent += body.length;
      res.writeHead(200, { 'content-length': body.length });
      res.end(body);
    });
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(async () => {
    server.closeAllConnections();
    redirectTarget.closeAllConnections();
    await Promise.all([new Promise((r) => server.close(r)), new Promise((r) => redirectTarget.close(r))]);
  });
  beforeEach(() => {
    requests = [];
    bytesSent = 0;
    redirectRequests = 0;
  });

  it('refused URLs never reach the server: http, wrong host, wrong port, private address', async () => {
    const port = new URL(origin).port;
    const cases = [
      { url: `${origin}/archive${SECRET_QUERY}`, allowedHosts: ['127.0.0.1'], re: /only https/ },
      { url: `https://127.0.0.1/archive${SECRET_QUERY}`, allowedHosts: ['127.0.0.1'], re: /loopback address/ },
      { url: `https://127.0.0.1:${port}/archive${SECRET_QUERY}`, allowedHosts: ['127.0.0.1'], re: /standard https port/ },
      { url: `https://localhost:${port}/archive${SECRET_QUERY}`, allowedHosts: S3_HOSTS, re: /not one this provider serves/ },
      // Host allowed by name, but it resolves to loopback: refused inside the lookup, before any connection.
      { url: `https://localhost/archive${SECRET_QUERY}`, allowedHosts: ['localhost'], re: /resolves to .*loopback/ },
    ];
    for (const c of cases) {
      const err = await refusalAsync(openDownload(c.url, { allowedHosts: c.allowedHosts, allowedOrigins: [] }));
      expect(err).toBeInstanceOf(UnsafeUrlError);
      expect(err.message).toMatch(c.re);
    }
    expect(requests).toEqual([]);
    expect(bytesSent).toBe(0);
  });

  it('an allowlisted origin is fetched and its body streamed', async () => {
    const res = await openDownload(`${origin}/archive${SECRET_QUERY}`, { allowedHosts: [], allowedOrigins: [origin] });
    expect(res.status).toBe(200);
    const chunks: Buffer[] = [];
    for await (const c of res.body) chunks.push(c as Buffer);
    expect(Buffer.concat(chunks).toString()).toBe('PK\x03\x04 pretend archive');
    expect(requests).toHaveLength(1);
  });

  it('a redirect is refused and never followed, and the error keeps the query strings out', async () => {
    const err = await refusalAsync(openDownload(`${origin}/redirect${SECRET_QUERY}`, { allowedHosts: [], allowedOrigins: [origin, redirectOrigin] }));
    expect(err).toBeInstanceOf(UnsafeUrlError);
    expect(err.message).toMatch(/302 redirect .* downloads never follow redirects/);
    expect(err.message).toContain(`${redirectOrigin}/latest/meta-data`);
    expect(requests).toEqual([`/redirect${SECRET_QUERY}`]);
    expect(redirectRequests).toBe(0);
  });

  it('a server that never answers is a ProviderUnavailableError after the idle timeout', async () => {
    const err = await refusalAsync(
      openDownload(`${origin}/stall${SECRET_QUERY}`, { allowedHosts: [], allowedOrigins: [origin], idleTimeoutMs: 200 }),
    );
    expect(err).toBeInstanceOf(ProviderUnavailableError);
    expect(err.message).toMatch(/stalled/);
  });

  it('a body that drips below the idle timeout is cut at the deadline with a ProviderUnavailableError', async () => {
    const res = await openDownload(`${origin}/drip${SECRET_QUERY}`, {
      allowedHosts: [],
      allowedOrigins: [origin],
      idleTimeoutMs: 1000,
      deadlineMs: 300,
    });
    expect(res.status).toBe(200);
    let received = 0;
    const err = await (async () => {
      for await (const c of res.body) received += (c as Buffer).length;
    })().then(
      () => undefined,
      (e: unknown) => e as Error,
    );
    expect(err).toBeInstanceOf(ProviderUnavailableError);
    expect(err!.message).toMatch(/did not finish within 300 ms/);
    expect(err!.message).not.toContain('topsecretsignature');
    expect(received).toBeGreaterThan(0);
    expect(received).toBeLessThan(1_000_000);
  });

  it('a refused connection is a ProviderUnavailableError without the query string', async () => {
    const closed = http.createServer();
    closed.listen(0, '127.0.0.1');
    await once(closed, 'listening');
    const deadOrigin = `http://127.0.0.1:${(closed.address() as AddressInfo).port}`;
    await new Promise((r) => closed.close(r));
    const err = await refusalAsync(openDownload(`${deadOrigin}/archive${SECRET_QUERY}`, { allowedHosts: [], allowedOrigins: [deadOrigin] }));
    expect(err).toBeInstanceOf(ProviderUnavailableError);
    expect(err.message).toMatch(/ECONNREFUSED/);
    expect(err.message).toContain(`${deadOrigin}/archive`);
  });
});

/**
 * A host name the provider may serve from, resolving (through an injected
 * resolver, no network) to addresses a download must never reach. A TCP
 * server on 127.0.0.1:443 counts connections: the control shows that without
 * the guard this very setup does reach it, and every guarded case shows zero.
 */
describe('download guard: a permitted host name that resolves to a forbidden address', () => {
  const HOST = 'files.example.test';
  const url = `https://${HOST}/bot.zip${SECRET_QUERY}`;
  let counter: net.Server;
  let connections = 0;
  let bytesReceived = 0;
  const resolverCalls: string[] = [];

  /** Answers every lookup of HOST with `addresses`, honouring `all` like dns.lookup. */
  const resolverTo = (...addresses: string[]): LookupFunction =>
    ((hostname: string, options: { all?: boolean }, callback: (err: Error | null, address: string | LookupAddress[], family?: number) => void) => {
      resolverCalls.push(hostname);
      const all = addresses.map((address) => ({ address, family: net.isIP(address) }));
      if (options.all) callback(null, all);
      else callback(null, all[0]!.address, all[0]!.family);
    }) as unknown as LookupFunction;

  beforeAll(async () => {
    counter = net.createServer((socket) => {
      connections++;
      socket.on('data', (d) => (bytesReceived += d.length));
      socket.on('error', () => undefined);
      socket.end();
    });
    counter.listen(443, '127.0.0.1');
    await once(counter, 'listening');
  });
  afterAll(async () => {
    await new Promise((r) => counter.close(r));
  });
  beforeEach(() => {
    connections = 0;
    bytesReceived = 0;
    resolverCalls.length = 0;
  });

  it('control: without the guard, the same URL and resolver reach the counting server', async () => {
    const req = https.request(url, { lookup: resolverTo('127.0.0.1'), agent: false });
    req.on('error', () => undefined); // the counter is not a TLS server
    req.end();
    await vi.waitFor(() => expect(connections).toBe(1));
    req.destroy();
  });

  it.each([
    ['loopback', ['127.0.0.1'], /loopback/],
    ['link-local (instance metadata)', ['169.254.169.254'], /link-local \(169\.254\/16/],
    ['link-local, elsewhere in 169.254/16', ['169.254.10.20'], /link-local/],
    ['private 10/8', ['10.0.0.8'], /private \(10\/8\)/],
    ['private 172.16/12', ['172.20.1.1'], /private \(172\.16\/12\)/],
    ['private 192.168/16', ['192.168.1.20'], /private \(192\.168\/16\)/],
    ['IPv6 loopback', ['::1'], /loopback/],
    ['IPv6 unique local (ULA)', ['fd12:3456::1'], /unique local/],
    ['IPv6 link-local', ['fe80::1'], /link-local \(fe80/],
    ['IPv4-mapped loopback', ['::ffff:127.0.0.1'], /loopback/],
    ['one public and one private answer (rebinding)', ['93.184.216.34', '10.1.2.3'], /10\.1\.2\.3, a private/],
  ])('%s: UnsafeUrlError at connect time, zero connections, zero bytes', async (_what, addresses, reason) => {
    const err = await refusalAsync(openDownload(url, { allowedHosts: [HOST], allowedOrigins: [], resolver: resolverTo(...addresses) }));
    expect(err).toBeInstanceOf(UnsafeUrlError);
    expect(err.message).toMatch(/resolves to/);
    expect(err.message).toMatch(reason);
    expect(resolverCalls).toEqual([HOST]);
    expect(connections).toBe(0);
    expect(bytesReceived).toBe(0);
  });

  it('explicitly allowed: an allowlisted origin skips the address rule and does connect', async () => {
    // A loopback address, refused above; on the operator's allowlist it is fetched.
    const err = await refusalAsync(
      openDownload(`https://127.0.0.1/bot.zip${SECRET_QUERY}`, { allowedHosts: [], allowedOrigins: ['https://127.0.0.1'] }),
    );
    expect(err).toBeInstanceOf(ProviderUnavailableError); // the counter speaks no TLS
    expect(connections).toBe(1);
  });
});
