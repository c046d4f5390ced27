/**
 * The write path's faults, injected for real, on an unversioned bucket
 * (s3rver) and a versioned one (OpenStack Swift's S3 API), both honouring S3's
 * conditional writes and request checksums (test/simulators/s3-server.ts,
 * scripts/swift/botvault_s3_conditional.py). Every fault ends with exactly one
 * correct version per distinct content and nothing deleted:
 * - the answer to the archive's write is lost after S3 stored it (the SDK
 *   retries; the retry meets its own write);
 * - two runs of one bot write at once, with the same content and with
 *   different content;
 * - the bytes are damaged on the way and S3's checksum refuses them;
 * - (unversioned) concurrent runs never leave the key missing or holding
 *   bytes that do not match their `sha256`.
 * The S3 requests of each job are counted by the proxy in between.
 */
import { randomBytes } from 'node:crypto';
import { Readable } from 'node:stream';
import { GetObjectCommand, HeadObjectCommand, ListObjectVersionsCommand, type S3Client } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { writeArchive, type WriteArchiveParams } from '../../lambdas/shared/archive-store';
import { ProviderUnavailableError } from '../../lib/core/errors';
import { rejection } from '../helpers/rejection';
import { type S3FaultProxy, type S3FaultProxyOptions, startS3FaultProxy } from '../simulators/s3-fault-proxy';
import { createBucket, s3ClientFor, type S3Server, startS3Server } from '../simulators/s3-server';
import { createVersionedBucket, swiftS3FromEnv } from '../simulators/swift';
import { lexBotJob, sha256 } from './store-fixtures';
import { lexLikeZip } from './zip-fixtures';

interface Backend {
  readonly name: string;
  readonly versioned: boolean;
  /** The server's endpoint and credentials. */
  start(): Promise<{ endpoint: string; credentials: { accessKeyId: string; secretAccessKey: string }; close(): Promise<void> }>;
  createBucket(s3: S3Client, endpoint: string, bucket: string): Promise<void>;
}

const BACKENDS: Backend[] = [
  {
    name: 'unversioned bucket (s3rver)',
    versioned: false,
    async start() {
      const server: S3Server = await startS3Server();
      return { endpoint: server.endpoint, credentials: { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' }, close: () => server.close() };
    },
    createBucket: (_s3, endpoint, bucket) => createBucket(endpoint, bucket),
  },
  {
    name: 'versioned bucket (Swift)',
    versioned: true,
    async start() {
      const swift = swiftS3FromEnv();
      swift.client.destroy();
      return {
        endpoint: swift.endpoint,
        credentials: { accessKeyId: process.env.BOTVAULT_SWIFT_S3_ACCESS_KEY!, secretAccessKey: process.env.BOTVAULT_SWIFT_S3_SECRET_KEY! },
        close: async () => undefined,
      };
    },
    async createBucket(s3, _endpoint, bucket) {
      await createVersionedBucket(s3, bucket);
    },
  },
];

describe.each(BACKENDS)('the write path on a $name', (backend) => {
  let server: Awaited<ReturnType<Backend['start']>>;
  let direct: S3Client;
  let bucket: string;
  let n = 0;
  const job = lexBotJob('FAULTBOT01');
  const opened: { proxy: S3FaultProxy; client: S3Client }[] = [];

  /** An S3 client whose requests pass through a fault proxy. */
  async function through(opts: S3FaultProxyOptions = {}) {
    const proxy = await startS3FaultProxy(server.endpoint, opts);
    const client = s3ClientFor(proxy.url, server.credentials);
    opened.push({ proxy, client });
    return { proxy, client };
  }
  const write = (s3: S3Client, runId: string, data: Buffer, extra: Partial<WriteArchiveParams> = {}) =>
    writeArchive({ s3, bucket, job, runId, exportId: `E-${runId}`, body: Readable.from([data]), contentLength: data.length, ...extra });

  /** Every version at the key, newest first (the one current object on an unversioned bucket). */
  async function history(): Promise<{ sha256: string; metadataSha256?: string }[]> {
    const bodyOf = async (versionId?: string) => {
      const res = await direct.send(new GetObjectCommand({ Bucket: bucket, Key: job.key, ...(versionId ? { VersionId: versionId } : {}) }));
      return { sha256: sha256(Buffer.from(await res.Body!.transformToByteArray())), metadataSha256: res.Metadata?.sha256 };
    };
    if (!backend.versioned) {
      const exists = await direct.send(new HeadObjectCommand({ Bucket: bucket, Key: job.key })).then(
        () => true,
        () => false,
      );
      return exists ? [await bodyOf()] : [];
    }
    const listed = await direct.send(new ListObjectVersionsCommand({ Bucket: bucket, Prefix: job.key }));
    expect(listed.DeleteMarkers ?? []).toEqual([]);
    const versions = (listed.Versions ?? []).filter((v) => v.Key === job.key);
    return Promise.all(versions.map((v) => bodyOf(v.VersionId)));
  }
  const noDeletes = (proxy: S3FaultProxy) => expect(proxy.requests.filter((r) => r.method === 'DELETE')).toEqual([]);

  beforeAll(async () => {
    server = await backend.start();
    direct = s3ClientFor(server.endpoint, server.credentials);
  });
  afterAll(async () => {
    for (const o of opened) {
      o.client.destroy();
      await o.proxy.close();
    }
    direct?.destroy();
    await server?.close();
  });
  beforeEach(async () => {
    bucket = `write-faults-${randomBytes(3).toString('hex')}-${++n}`;
    await backend.createBucket(direct, server.endpoint, bucket);
  });

  it('a first backup costs HEAD and two PUTs (the archive, its change record), a changed bot also one GET of the version it replaces, an unchanged one a single HEAD', async () => {
    const { proxy, client } = await through();
    const zip = await lexLikeZip(500);
    expect(await write(client, 'run-1', zip)).toMatchObject({ bytes: zip.length, sha256: sha256(zip) });
    const calls = () => proxy.requests.map((r) => `${r.method} ${r.path.slice(`/${bucket}/`.length).split('?')[0]}`);
    expect(calls()).toEqual([`HEAD ${job.key}`, `PUT ${job.key}`, `PUT ${job.key}.changes.json`]);
    proxy.requests.length = 0;
    expect((await write(client, 'run-2', zip)).status).toBe('UNCHANGED');
    expect(calls()).toEqual([`HEAD ${job.key}`]);
    expect(await history()).toEqual([{ sha256: sha256(zip), metadataSha256: sha256(zip) }]);
    proxy.requests.length = 0;
    const changed = await lexLikeZip(501);
    expect((await write(client, 'run-3', changed)).changes).toBe('Bot: files 1 changed');
    expect(calls()).toEqual([`HEAD ${job.key}`, `GET ${job.key}`, `PUT ${job.key}`, `PUT ${job.key}.changes.json`]);
    // The version it replaces is read by its id where there are versions (IAM: s3:GetObjectVersion, test/infra/iam.test.ts),
    // and only while it is still the current one (If-Match its ETag) where there are not.
    const get = proxy.requests.find((r) => r.method === 'GET')!;
    if (backend.versioned) expect(get.query).toMatch(/(^|&)versionId=[^&]+/);
    else expect(get.query).not.toContain('versionId');
  });

  it('a lost answer to the write: the retry meets its own write, the job succeeds, one version', async () => {
    let dropped = 0;
    const { proxy, client } = await through({ dropResponse: (r) => r.method === 'PUT' && r.path === `/${bucket}/${job.key}` && dropped++ === 0 });
    const zip = await lexLikeZip(500);
    const stored = await write(client, 'run-1', zip);
    expect(stored).toMatchObject({ bytes: zip.length, sha256: sha256(zip) });
    expect(stored.status).toBeUndefined();
    const puts = proxy.requests.filter((r) => r.method === 'PUT' && r.path === `/${bucket}/${job.key}`);
    // The first PUT was carried out and its answer lost; the SDK's retry found the key taken (412); one HEAD found this run's version.
    expect(puts.map((r) => r.status)).toEqual([0, 412]);
    expect(await history()).toEqual([{ sha256: sha256(zip), metadataSha256: sha256(zip) }]);
    // The version still gets its change record (the version it replaced is not known any more: unavailable, saying why),
    // and the job still names the bot for the run's notification.
    expect(stored.changeRecord).toBe('written');
    expect(stored.changes).toMatch(
      /^lex:FAULTBOT01:DRAFT: changed \(no summary: an earlier attempt of this run stored the version and its answer was lost/,
    );
    const record = await direct.send(new GetObjectCommand({ Bucket: bucket, Key: `${job.key}.changes.json` }));
    expect(JSON.parse(await record.Body!.transformToString())).toMatchObject({
      status: 'unavailable',
      runId: 'run-1',
      archive: { sha256: sha256(zip) },
    });
    noDeletes(proxy);
  });

  it('a lost answer to the change record: the retried job finds the record of its own version and reuses its line, one record', async () => {
    let dropped = 0;
    const recordKey = `/${bucket}/${job.key}.changes.json`;
    const { proxy, client } = await through({ dropResponse: (r) => r.method === 'PUT' && r.path === recordKey && dropped++ === 0 });
    const zip = await lexLikeZip(500);
    const first = await write(client, 'run-1', zip);
    // The SDK retried the record's PUT after the lost answer (an unconditional write: the same record twice).
    expect(first).toMatchObject({ changes: 'Bot: first backup', changeRecord: 'written' });
    // The Lambda is retried as a whole (its answer lost too): the version and its record are found, nothing is added.
    proxy.requests.length = 0;
    const again = await write(client, 'run-1', zip);
    expect(again).toMatchObject({ changes: 'Bot: first backup', changeRecord: 'written' });
    expect(proxy.requests.map((r) => `${r.method} ${r.path}`)).toEqual([`HEAD /${bucket}/${job.key}`, `GET ${recordKey}`]);
  });

  it('two runs of an unchanged bot at once: one writes, the other reports UNCHANGED, one version', async () => {
    const zip = await lexLikeZip(500);
    const a = await through();
    const b = await through();
    const results = await Promise.all([write(a.client, 'run-a', zip), write(b.client, 'run-b', zip)]);
    expect(results.map((r) => r.status ?? 'SUCCEEDED').sort()).toEqual(['SUCCEEDED', 'UNCHANGED']);
    expect(await history()).toEqual([{ sha256: sha256(zip), metadataSha256: sha256(zip) }]);
    noDeletes(a.proxy);
    noDeletes(b.proxy);
  });

  it('two runs with different content at once: each version is whole, written once, and the later compared against the earlier', async () => {
    const [one, two] = [await lexLikeZip(500), await lexLikeZip(700)];
    const a = await through();
    const b = await through();
    const results = await Promise.all([write(a.client, 'run-a', one), write(b.client, 'run-b', two)]);
    expect(results.map((r) => r.status)).toEqual([undefined, undefined]);
    const h = await history();
    for (const v of h) expect(v.sha256).toBe(v.metadataSha256);
    if (backend.versioned) expect(h.map((v) => v.sha256).sort()).toEqual([sha256(one), sha256(two)].sort());
    else expect([sha256(one), sha256(two)]).toContain(h[0]!.sha256);
    noDeletes(a.proxy);
    noDeletes(b.proxy);
  });

  it('above the single-PUT bound, the multipart write is as conditional: two runs at once, then a lost answer to the completion', async () => {
    // singlePutMaxBytes 1 makes every write a multipart upload (one part: the last part may be under 5 MiB).
    const multipart = { singlePutMaxBytes: 1, partBytes: 5 * 1024 * 1024 };
    const [one, two] = [await lexLikeZip(500), await lexLikeZip(700)];
    const a = await through();
    const b = await through();
    const results = await Promise.all([write(a.client, 'run-a', one, multipart), write(b.client, 'run-b', two, multipart)]);
    expect(results.map((r) => r.status)).toEqual([undefined, undefined]);
    let h = await history();
    for (const v of h) expect(v.sha256).toBe(v.metadataSha256);
    if (backend.versioned) expect(h.map((v) => v.sha256).sort()).toEqual([sha256(one), sha256(two)].sort());
    const completes = (p: S3FaultProxy) => p.requests.filter((r) => r.method === 'POST' && r.query.includes('uploadId'));
    // Both completed once each, conditionally; the one that lost the race compared again and completed a new upload.
    expect(completes(a.proxy).length + completes(b.proxy).length).toBeGreaterThanOrEqual(2);

    const three = await lexLikeZip(900);
    let dropped = false;
    const lossy = await through({
      dropResponse: (r) => {
        if (dropped || r.method !== 'POST' || !r.query.includes('uploadId')) return false;
        dropped = true;
        return true;
      },
    });
    const before = h.length;
    const stored = await write(lossy.client, 'run-c', three, multipart);
    expect(dropped).toBe(true);
    expect(stored.status).toBeUndefined();
    expect(stored.sha256).toBe(sha256(three));
    h = await history();
    expect(h[0]).toEqual({ sha256: sha256(three), metadataSha256: sha256(three) });
    // One version for the run whose answer was lost, not two.
    if (backend.versioned) expect(h).toHaveLength(before + 1);
    for (const p of [a.proxy, b.proxy, lossy.proxy])
      expect(p.requests.filter((r) => r.method === 'DELETE' && !r.query.includes('uploadId'))).toEqual([]);
  });

  it('bytes damaged on the way: S3 refuses them, nothing is written, the next run stores the change', async () => {
    const before = await lexLikeZip(100);
    await write(direct, 'run-0', before);
    const damaged = await through({ tamperBody: (r) => r.method === 'PUT' && r.path === `/${bucket}/${job.key}` });
    const changed = await lexLikeZip(500);
    await rejection(write(damaged.client, 'run-1', changed), ProviderUnavailableError);
    expect(await history()).toEqual([{ sha256: sha256(before), metadataSha256: sha256(before) }]);
    const next = await write(direct, 'run-2', changed);
    expect(next.status).toBeUndefined();
    const h = await history();
    expect(h[0]).toEqual({ sha256: sha256(changed), metadataSha256: sha256(changed) });
    expect(h).toHaveLength(backend.versioned ? 2 : 1);
    noDeletes(damaged.proxy);
  });

  it('five rounds of three concurrent runs: the key is never missing, and always holds the bytes its sha256 names', async () => {
    for (let round = 0; round < 5; round++) {
      const zips = await Promise.all([lexLikeZip(300), lexLikeZip(300), lexLikeZip(300)]);
      const clients = await Promise.all(zips.map(() => through()));
      await Promise.all(zips.map((zip, i) => write(clients[i]!.client, `run-${round}-${i}`, zip)));
      const h = await history();
      expect(h.length).toBeGreaterThan(0);
      for (const v of h) expect(v.sha256).toBe(v.metadataSha256);
      for (const c of clients) noDeletes(c.proxy);
    }
  });
});
