/**
 * A fetch for provider API calls (Kore.ai's export, status and import calls)
 * that passes the download guard's connect-time check (download-guard.ts):
 * unless its origin is on the operator's allowlist (a local simulator), a
 * request goes out only over https, to a host whose every resolved address
 * is public, checked inside the socket's lookup (so the address checked is
 * the one connected to), and never to an IP literal that is not public. The
 * JWT the request carries never reaches an internal address.
 *
 * Node's fetch offers no hook on the resolved address, so this speaks
 * node:http(s) and returns a standard Response (bodies are small JSON).
 * Redirects are never followed: the caller sees the 3xx.
 */
import http from 'node:http';
import https from 'node:https';
import { isIP } from 'node:net';
import { forbiddenAddressReason, guardedLookup, isAllowlistedOrigin, redactUrl } from './download-guard';
import { UnsafeUrlError } from './errors';

/** The largest answer read from a provider API (its answers are JSON of a few kB). */
const MAX_ANSWER_BYTES = 16 * 1024 * 1024;
/** Statuses whose Response may not have a body. */
const NULL_BODY = new Set([101, 204, 205, 304]);

export type GuardedFetch = (url: URL, init: RequestInit) => Promise<Response>;

export function guardedFetch(allowedOrigins: readonly string[]): GuardedFetch {
  return async (url, init) => {
    const shown = redactUrl(url);
    const allowlisted = isAllowlistedOrigin(url, allowedOrigins);
    if (!allowlisted) {
      if (url.protocol !== 'https:') throw new UnsafeUrlError(`Refusing to call ${shown}: only https is allowed.`);
      const host = url.hostname.replace(/^\[|\]$/g, '');
      const reason = isIP(host) ? forbiddenAddressReason(host) : undefined;
      if (reason) throw new UnsafeUrlError(`Refusing to call ${shown}: ${host} is a ${reason} address.`);
    }
    // The platform's encoding of the body (a FormData becomes multipart with its boundary).
    const encoded = new Request(url, { method: init.method ?? 'GET', headers: init.headers, ...(init.body != null ? { body: init.body } : {}) });
    const body = init.body != null ? Buffer.from(await encoded.arrayBuffer()) : undefined;
    const headers: Record<string, string> = {};
    encoded.headers.forEach((value, name) => {
      headers[name] = value;
    });
    if (body) headers['content-length'] = String(body.length);
    const transport = url.protocol === 'https:' ? https : http;
    return new Promise<Response>((resolve, reject) => {
      const req = transport.request(url, {
        method: encoded.method,
        headers,
        // No pooling: a pooled socket would skip the lookup below.
        agent: false,
        ...(allowlisted ? {} : { lookup: guardedLookup(shown) }),
        ...(init.signal ? { signal: init.signal } : {}),
      });
      req.on('error', (err: Error & { code?: string }) => {
        if (err instanceof UnsafeUrlError) return reject(err);
        // As fetch reports it: a TypeError whose cause carries the code (callers read `cause.code`).
        reject(err.name === 'AbortError' || err.name === 'TimeoutError' ? err : Object.assign(new TypeError('fetch failed'), { cause: err }));
      });
      req.on('response', (res) => {
        const chunks: Buffer[] = [];
        let size = 0;
        res.on('data', (c: Buffer) => {
          size += c.length;
          if (size > MAX_ANSWER_BYTES) res.destroy(new Error(`the answer is larger than ${MAX_ANSWER_BYTES} bytes`));
          else chunks.push(c);
        });
        res.on('error', (err) => reject(Object.assign(new TypeError('fetch failed'), { cause: err })));
        res.on('end', () => {
          const status = res.statusCode ?? 502;
          const out = new Headers();
          for (const [name, value] of Object.entries(res.headers)) {
            if (value !== undefined) out.set(name, Array.isArray(value) ? value.join(', ') : value);
          }
          resolve(new Response(NULL_BODY.has(status) ? null : Buffer.concat(chunks), { status, statusText: res.statusMessage ?? '', headers: out }));
        });
      });
      req.end(body);
    });
  };
}
