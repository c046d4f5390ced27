/**
 * Real S3 answers a HeadObject of a missing key with 403, not 404, when the
 * caller lacks s3:ListBucket, and StoreArchive has none. Through a proxy in
 * front of s3rver that turns every 404 HEAD into 403: the first store of a
 * new key (both HEADs before the copy: this run's version? the current
 * content?) and the first sidecar still work, and a second store is UNCHANGED.
 */
import http from 'node:http';
import { Readable } from 'node:stream';
import type { S3Client } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { writeArchive } from '../../lambdas/shared/archive-store';
import type { Job } from '../../lib/core/contracts';
import { createBucket, s3ClientFor, startS3Server, type S3Server } from '../simulators/s3-server';
import { listen, type Listening } from '../simulators/http';
import { lexLikeZip } from './zip-fixtures';
import type { RestoreDetails } from '../../lib/providers/definitions';

let server: S3Server;
let proxy: Listening;
const forbidden: string[] = [];
let s3: S3Client;
const bucket = 'no-listbucket';
const job: Job = { id: 'lex:NEWBOT0001:DRAFT', provider: 'lex', key: 'lex/123456789012/us-east-1/NEWBOT0001/DRAFT/bot.zip', spec: { kind: 'bot' } };
const details: RestoreDetails = {
  lex: {
    botId: 'NEWBOT0001',
    botName: 'New',
    roleArn: 'arn:aws:iam::123456789012:role/R',
    dataPrivacy: { childDirected: false },
    idleSessionTTLInSeconds: 300,
    aliases: [],
    tags: {},
  },
};

beforeAll(async () => {
  server = await startS3Server();
  await createBucket(server.endpoint, bucket);
  const upstream = new URL(server.endpoint);
  const forwarder = http.createServer((req, res) => {
    const forward = http.request(
      { host: upstream.hostname, port: upstream.port, method: req.method, path: req.url, headers: req.headers, agent: false },
      (up) => {
        if (req.method === 'HEAD' && up.statusCode === 404) {
          forbidden.push(decodeURIComponent(new URL(req.url ?? '/', 'http://proxy').pathname));
          up.resume();
          res.writeHead(403, { 'content-length': '0' });
          res.end();
          return;
        }
        res.writeHead(up.statusCode ?? 502, up.headers);
        up.pipe(res);
      },
    );
    forward.on('error', () => res.destroy());
    req.pipe(forward);
  });
  proxy = await listen(forwarder);
  s3 = s3ClientFor(proxy.url);
});
afterAll(async () => {
  s3?.destroy();
  await proxy?.close();
  await server.close();
});

describe('writeArchive without s3:ListBucket (HEAD of a missing key is 403)', () => {
  it('stores a new key with its sidecar, then reports the unchanged export UNCHANGED', async () => {
    const zip = await lexLikeZip();
    const params = { s3, bucket, job, exportId: 'E', restoreDetails: async () => details };
    const first = await writeArchive({ ...params, runId: 'run-1', body: Readable.from([zip]), contentLength: zip.length });
    expect(first).toMatchObject({ key: job.key, bytes: zip.length, restoreInfo: 'written' });
    expect(first.status).toBeUndefined();
    expect(forbidden).toContain(`/${bucket}/${job.key}`);

    const second = await writeArchive({ ...params, runId: 'run-2', body: Readable.from([zip]), contentLength: zip.length });
    expect(second).toMatchObject({ status: 'UNCHANGED', sha256: first.sha256, restoreInfo: 'unchanged' });
  });
});
