/**
 * A transparent HTTP proxy in front of a real S3-compatible server that can
 * rewrite the answer to HeadObject: a stored object that, when verified, does
 * not look like what was written (a wrong size, a wrong `sha256` metadata).
 * Everything else, request signatures included, passes through unchanged
 * (the Host header is kept, so SigV4 still verifies at the server).
 */
import http, { type IncomingHttpHeaders } from 'node:http';
import { listen } from './http';

export interface S3FaultProxyOptions {
  /**
   * Called for every successful HEAD; return the headers to send instead (or
   * undefined to pass them through). `path` is the request path, `/bucket/key`.
   */
  rewriteHead?: (path: string, headers: IncomingHttpHeaders) => IncomingHttpHeaders | undefined;
}

export interface S3FaultProxy {
  /** http://127.0.0.1:PORT, to use as the S3 endpoint. */
  url: string;
  /** HEAD requests whose answer was rewritten, by path. */
  rewritten: string[];
  close(): Promise<void>;
}

export async function startS3FaultProxy(target: string, opts: S3FaultProxyOptions = {}): Promise<S3FaultProxy> {
  const upstream = new URL(target);
  const rewritten: string[] = [];
  const server = http.createServer((req, res) => {
    const forward = http.request(
      { host: upstream.hostname, port: upstream.port, method: req.method, path: req.url, headers: req.headers, agent: false },
      (up) => {
        let headers = up.headers;
        const path = decodeURIComponent(new URL(req.url ?? '/', 'http://proxy').pathname);
        if (req.method === 'HEAD' && up.statusCode === 200 && opts.rewriteHead) {
          const changed = opts.rewriteHead(path, { ...up.headers });
          if (changed) {
            headers = changed;
            rewritten.push(path);
          }
        }
        res.writeHead(up.statusCode ?? 502, headers);
        up.pipe(res);
      },
    );
    forward.on('error', () => res.destroy());
    req.pipe(forward);
  });
  const { url, close } = await listen(server);
  return { url, rewritten, close };
}
