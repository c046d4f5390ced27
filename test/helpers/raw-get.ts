/** A plain HTTP GET for the simulator tests, to see a download exactly as it went over the wire. */
import { get as httpGet, type IncomingHttpHeaders } from 'node:http';

export interface Raw {
  status?: number;
  headers: IncomingHttpHeaders;
  body: Buffer;
  error?: Error;
}

/** A plain GET that never follows redirects and reports a cut body as an error next to what arrived. */
export function rawGet(url: string, headers: Record<string, string> = {}): Promise<Raw> {
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    const req = httpGet(url, { headers }, (res) => {
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode, headers: res.headers, body: Buffer.concat(chunks) }));
      res.on('error', (error) => resolve({ status: res.statusCode, headers: res.headers, body: Buffer.concat(chunks), error }));
      res.on('aborted', () => resolve({ status: res.statusCode, headers: res.headers, body: Buffer.concat(chunks), error: new Error('aborted') }));
    });
    req.on('error', (error) => resolve({ headers: {}, body: Buffer.concat(chunks), error }));
  });
}
