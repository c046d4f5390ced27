/**
 * The HTTP plumbing every simulator shares: reading a request body, a JSON
 * (or other text) reply with its length, the JSON-object body the AWS JSON
 * APIs take, and listening on a loopback port with a close() that does not
 * wait for keep-alive sockets.
 */
import { randomUUID } from 'node:crypto';
import type { IncomingMessage, OutgoingHttpHeaders, Server, ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';

/** The whole request body. */
export async function readBody(req: IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

/** Ends the response with `text`, its content-length added to `headers`. */
export function sendText(res: ServerResponse, status: number, text: string, headers: OutgoingHttpHeaders): void {
  res.writeHead(status, { ...headers, 'content-length': Buffer.byteLength(text) });
  res.end(text);
}

/** Text for an XML element (the awsQuery services' answers). */
export const escapeXml = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

/**
 * An awsQuery error answer (STS, SNS: "Query API request" error format):
 * `<ErrorResponse><Error><Type>Sender|Receiver</Type><Code>…</Code><Message>…</Message></Error><RequestId>…`.
 */
export function queryErrorXml(xmlns: string, code: string, message: string, type: 'Sender' | 'Receiver' = 'Sender'): string {
  return `<ErrorResponse xmlns="${xmlns}"><Error><Type>${type}</Type><Code>${code}</Code><Message>${escapeXml(message)}</Message></Error><RequestId>${randomUUID()}</RequestId></ErrorResponse>`;
}

/** Ends the response with `body` as JSON; `headers` name its content-type. */
export function sendJson(res: ServerResponse, status: number, body: unknown, headers: OutgoingHttpHeaders): void {
  sendText(res, status, JSON.stringify(body), headers);
}

/**
 * A request body that must be a JSON object (an empty body is `{}`); `fail`
 * makes the service's own error from the message.
 */
export function parseJsonObject(raw: Buffer, fail: (message: string) => Error): Record<string, unknown> {
  if (raw.length === 0) return {};
  let parsed: unknown;
  try {
    parsed = JSON.parse(raw.toString('utf8'));
  } catch {
    throw fail('The request body is not valid JSON.');
  }
  if (!parsed || typeof parsed !== 'object' || Array.isArray(parsed)) throw fail('The request body must be a JSON object.');
  return parsed as Record<string, unknown>;
}

/** An error of an AWS JSON-protocol service: its `__type` and HTTP status. */
export class AwsJsonError extends Error {
  constructor(
    readonly type: string,
    message: string,
    readonly status = 400,
  ) {
    super(message);
  }
}

/**
 * What every awsJson1_1 simulator checks before an operation runs — `POST /`,
 * an Authorization header (an unsigned client is caught), the protocol's
 * Content-Type — then the body as a JSON object. Failures are AwsJsonErrors
 * named as the services name them.
 */
export async function readAwsJsonRequest(req: IncomingMessage, contentType: string): Promise<Record<string, unknown>> {
  const raw = await readBody(req);
  if (req.method !== 'POST' || (req.url ?? '/').split('?')[0] !== '/')
    throw new AwsJsonError('UnknownOperationException', `No operation matches ${req.method} ${req.url}`, 404);
  if (!req.headers.authorization) throw new AwsJsonError('MissingAuthenticationTokenException', 'Missing Authentication Token');
  if (!String(req.headers['content-type'] ?? '').startsWith(contentType))
    throw new AwsJsonError('SerializationException', `Expected Content-Type ${contentType}`);
  return parseJsonObject(raw, (message) => new AwsJsonError('SerializationException', message));
}

export interface Listening {
  /** http://HOST:PORT (an IPv6 host in brackets). */
  url: string;
  /** Stops listening and cuts open sockets (SDK clients keep them alive, which would hold close() open); once. */
  close(): Promise<void>;
}

/** Starts `server` on host:port (port 0, the default: any free one). */
export async function listen(server: Server, port = 0, host = '127.0.0.1'): Promise<Listening> {
  const sockets = new Set<Socket>();
  server.on('connection', (s) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => resolve());
  });
  const bound = (server.address() as AddressInfo).port;
  let closing: Promise<void> | undefined;
  return {
    url: `http://${host.includes(':') ? `[${host}]` : host}:${bound}`,
    close() {
      closing ??= new Promise<void>((resolve) => {
        server.close(() => resolve());
        for (const s of sockets) s.destroy();
      });
      return closing;
    },
  };
}

/** The broken downloads both providers' simulated download links can serve. */
export type BrokenDownload = 'redirectInternal' | 'notzip' | 'truncate' | 'reset';

/**
 * Serves a broken download of `archive` and returns the status sent:
 * redirectInternal, a 302 to the instance metadata address; notzip, `notZip()`
 * (an error page, say) as the zip; truncate, half the body under the full
 * content-length, then a clean FIN; reset, half a chunked body, then the socket
 * destroyed. `timers` holds the pending destroy, for the simulator's close().
 */
export function sendBrokenDownload(
  res: ServerResponse,
  fault: BrokenDownload,
  archive: Buffer,
  notZip: () => Buffer,
  timers: Set<NodeJS.Timeout>,
): number {
  switch (fault) {
    case 'redirectInternal':
      res.writeHead(302, { location: 'http://169.254.169.254/latest/meta-data/', 'content-length': 0 });
      res.end();
      return 302;
    case 'notzip': {
      const page = notZip();
      res.writeHead(200, { 'content-type': 'application/zip', 'content-length': page.length });
      res.end(page);
      return 200;
    }
    case 'truncate':
      res.writeHead(200, { 'content-type': 'application/zip', 'content-length': archive.length });
      // The promised length is never reached: the peer sees a clean FIN after half the body.
      res.write(archive.subarray(0, Math.floor(archive.length / 2)), () => res.socket?.end());
      return 200;
    case 'reset':
      res.writeHead(200, { 'content-type': 'application/zip', 'transfer-encoding': 'chunked' });
      // destroy() shortly after the write, not resetAndDestroy(): a TCP RST can make the peer's
      // kernel drop bytes it has not read yet, so the client might never see the headers.
      // With chunked framing, a close before the last chunk is still a cut body.
      res.write(archive.subarray(0, Math.floor(archive.length / 2)), () => {
        const t = setTimeout(() => {
          timers.delete(t);
          res.socket?.destroy();
        }, 20);
        timers.add(t);
      });
      return 200;
  }
}
