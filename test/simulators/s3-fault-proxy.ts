/**
 * A transparent HTTP proxy in front of a real S3-compatible server that
 * injects the faults of a network between a writer and S3, for real:
 * - `dropResponse`: the request reaches the server and is carried out, then
 *   the connection is cut before the answer reaches the client (a lost
 *   response: the SDK sees a reset and retries);
 * - `tamperBody`: one byte of the request body is flipped on the way (the
 *   server then holds the bytes against the request's checksum);
 * - `rewriteHead`: the answer to a HeadObject is rewritten.
 * Everything else, request signatures included, passes through unchanged
 * (the Host header is kept, so SigV4 still verifies at the server), and
 * every request is recorded, so tests can count what a job sent.
 */
import http, { type IncomingHttpHeaders } from 'node:http';
import { Transform } from 'node:stream';
import { listen } from './http';

/** One request through the proxy: `path` is `/bucket/key`, `query` the raw query string. */
interface ProxiedRequest {
  readonly method: string;
  readonly path: string;
  readonly query: string;
  /** A PUT with `x-amz-copy-source`: a CopyObject (or UploadPartCopy), not a body upload. */
  readonly copy: boolean;
  /** The server's status, or 0 when the proxy cut the exchange before it answered. */
  status: number;
}

export interface S3FaultProxyOptions {
  /** Called for every successful HEAD; return the headers to send instead (or undefined to pass them through). */
  rewriteHead?: (path: string, headers: IncomingHttpHeaders) => IncomingHttpHeaders | undefined;
  /** True for a request whose answer is to be lost after the server carried it out. */
  dropResponse?: (req: ProxiedRequest) => boolean;
  /** True for a request whose body is to have one byte flipped on the way. */
  tamperBody?: (req: ProxiedRequest) => boolean;
}

export interface S3FaultProxy {
  /** http://127.0.0.1:PORT, to use as the S3 endpoint. */
  url: string;
  /** HEAD requests whose answer was rewritten, by path. */
  rewritten: string[];
  /** Every request, in the order they arrived. */
  requests: ProxiedRequest[];
  close(): Promise<void>;
}

/** Flips the first byte of the body past its 100th (or its last, for a shorter one). */
function flipOneByte(): Transform {
  let seen = 0;
  let done = false;
  return new Transform({
    transform(chunk: Buffer, _enc, callback) {
      if (!done && seen + chunk.length > 100) {
        const copy = Buffer.from(chunk);
        const at = Math.max(0, 100 - seen);
        copy[at] = copy[at]! ^ 0xff;
        done = true;
        seen += chunk.length;
        return callback(null, copy);
      }
      seen += chunk.length;
      callback(null, chunk);
    },
  });
}

export async function startS3FaultProxy(target: string, opts: S3FaultProxyOptions = {}): Promise<S3FaultProxy> {
  const upstream = new URL(target);
  const rewritten: string[] = [];
  const requests: ProxiedRequest[] = [];
  const server = http.createServer((req, res) => {
    const parsed = new URL(req.url ?? '/', 'http://proxy');
    const record: ProxiedRequest = {
      method: req.method ?? '',
      path: decodeURIComponent(parsed.pathname),
      query: parsed.search.slice(1),
      copy: 'x-amz-copy-source' in req.headers,
      status: 0,
    };
    requests.push(record);
    const drop = opts.dropResponse?.(record) ?? false;
    const tamper = opts.tamperBody?.(record) ?? false;
    const forward = http.request(
      { host: upstream.hostname, port: upstream.port, method: req.method, path: req.url, headers: req.headers, agent: false },
      (up) => {
        if (drop) {
          // Read the whole answer (the server has done the work), then cut the client off without a byte of it.
          up.resume();
          up.on('end', () => res.socket?.destroy());
          return;
        }
        record.status = up.statusCode ?? 0;
        let headers = up.headers;
        if (req.method === 'HEAD' && up.statusCode === 200 && opts.rewriteHead) {
          const changed = opts.rewriteHead(record.path, { ...up.headers });
          if (changed) {
            headers = changed;
            rewritten.push(record.path);
          }
        }
        res.writeHead(up.statusCode ?? 502, headers);
        up.pipe(res);
      },
    );
    forward.on('error', () => res.destroy());
    if (tamper) req.pipe(flipOneByte()).pipe(forward);
    else req.pipe(forward);
  });
  const { url, close } = await listen(server);
  return { url, rewritten, requests, close };
}
