/**
 * A light S3-compatible server in-process (s3rver) for tests where bucket
 * versioning does not matter; for versioning use Swift (./swift.ts).
 *
 * s3rver knows one access key, S3RVER (secret S3RVER): it rejects any other
 * key id but does not verify SigV4 signatures themselves.
 *
 * s3rver 3.7.1 lacks two operations BotVault depends on: AbortMultipartUpload
 * (405 MethodNotAllowed) and ListMultipartUploads (501 NotImplemented). A
 * failed streamed upload must abort its multipart upload, and tests check
 * that none is left open, so both are added here over s3rver's own on-disk
 * layout (`<bucket>/._S3rver_uploads/<uploadId>/{key,metadata,<part>...}`).
 *
 * It also ignores S3's conditional writes and request checksums, which
 * BotVault's write path relies on (AWS: "Conditional writes" and "Checking
 * object integrity" in the S3 user guide), so both are added here:
 * - PutObject and CompleteMultipartUpload with `If-None-Match: *` answer 412
 *   PreconditionFailed when the key has an object, with `If-Match: <etag>`
 *   when it has none or another ETag; check and write hold one lock per key,
 *   so of two concurrent conditional writers only one can win;
 * - PutObject with `x-amz-checksum-sha256`, UploadPart with
 *   `x-amz-checksum-crc64nvme`, and CompleteMultipartUpload with a
 *   full-object `x-amz-checksum-crc64nvme` answer 400 BadDigest when the bytes
 *   do not match, and store nothing (what was at the key stays).
 *
 * And it answers PutObject and UploadPart before their bytes are on disk: its
 * store resolves when its hashing Transform finishes, not when the file write
 * does (and on a Buffer body, right after `end()`). A GET or a
 * CompleteMultipartUpload that follows at once can then read an empty or
 * short file: a run manifest read back as "" was seen in the workflow suite.
 * `durableWrites` replaces both store methods with ones that answer only once
 * the file is written (to a temporary name, then renamed, so a failed upload
 * leaves what was there before, as S3 does).
 */
import { createHash, randomBytes } from 'node:crypto';
import { createWriteStream, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { mkdir, rename, rm, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Crc64Nvme } from '@aws-sdk/checksums/crc';
import { CreateBucketCommand, S3Client } from '@aws-sdk/client-s3';

/** The part of Koa's context used by the added operations. */
interface KoaContext {
  method: string;
  path: string;
  query: Record<string, string | string[] | undefined>;
  headers: Record<string, string | string[] | undefined>;
  status: number;
  body: unknown;
  type: string;
  /** The request stream (what s3rver's PutObject and UploadPart store). */
  req: unknown;
  set(field: string, value: string): void;
}
type KoaMiddleware = (ctx: KoaContext, next: () => Promise<void>) => Promise<void>;

/** The part of s3rver's API used here (the package ships no types). */
interface S3rverInstance {
  run(): Promise<AddressInfo>;
  close(): Promise<void>;
  httpServer?: Server;
  /** Koa's middleware stack, composed when the server starts. */
  middleware: KoaMiddleware[];
  store: S3rverStore;
}

/** The part of s3rver's FilesystemStore that durableWrites replaces or uses. */
interface S3rverStore {
  getResourcePath(bucket: string, key: string | undefined, type: string): string;
  putMetadata(bucket: string, key: string, metadata: unknown, md5: string): Promise<void>;
  putObject(object: { bucket: string; key: string; content: Buffer | Readable; metadata: unknown }): Promise<{ size: number; md5: string }>;
  putPart(bucket: string, uploadId: string, partNumber: number, content: Readable): Promise<{ size: number; md5: string }>;
  putObjectMultipart(bucket: string, uploadId: string, parts: { number: number; etag: string }[]): Promise<{ size: number; md5: string }>;
}
type S3rverConstructor = new (options: {
  address: string;
  port: number;
  directory: string;
  silent: boolean;
  resetOnClose: boolean;
  allowMismatchedSignatures: boolean;
  vhostBuckets: boolean;
}) => S3rverInstance;

const S3rver = createRequire(import.meta.url)('s3rver') as S3rverConstructor;

/** The credentials s3rver accepts (hard-coded in s3rver). */
export const S3RVER_CREDENTIALS = { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' } as const;

const S3Error = createRequire(import.meta.url)('s3rver/lib/models/error') as new (code: string, message: string) => Error;
const badDigest = (what: string) => new S3Error('BadDigest', `The ${what} you specified did not match the calculated checksum.`);

/** Request streams whose body must match a checksum, set by conditionalWrites for the store methods below. */
const expectedChecksums = new WeakMap<object, { algorithm: 'sha256' | 'crc64nvme'; base64: string }>();
/** Full-object CRC-64/NVME a CompleteMultipartUpload asks for, by `<bucket>/<uploadId>`. */
const expectedMultipart = new Map<string, string>();

function checksummer(algorithm: 'sha256' | 'crc64nvme'): { update(b: Buffer): void; digest(): Promise<string> } {
  if (algorithm === 'sha256') {
    const h = createHash('sha256');
    return { update: (b) => h.update(b), digest: async () => h.digest('base64') };
  }
  const c = new Crc64Nvme();
  return { update: (b) => c.update(b), digest: async () => Buffer.from(await c.digest()).toString('base64') };
}

/**
 * Writes `content` to `path` and answers with its size and MD5 only once the file is complete; on failure `path` is
 * untouched. With `expected`, a body that does not match its checksum fails with BadDigest before it replaces anything.
 */
async function writeFileDurably(
  path: string,
  content: Buffer | Readable,
  expected?: { algorithm: 'sha256' | 'crc64nvme'; base64: string },
): Promise<{ size: number; md5: string }> {
  await mkdir(dirname(path), { recursive: true });
  const temporary = `${path}.${randomBytes(6).toString('hex')}.partial`;
  const md5 = createHash('md5');
  const check = expected ? checksummer(expected.algorithm) : undefined;
  let size = 0;
  try {
    await pipeline(
      Buffer.isBuffer(content) ? Readable.from([content]) : content,
      async function* (chunks: AsyncIterable<Buffer>) {
        for await (const chunk of chunks) {
          md5.update(chunk);
          check?.update(chunk);
          size += chunk.length;
          yield chunk;
        }
      },
      createWriteStream(temporary),
    );
    if (expected && (await check!.digest()) !== expected.base64) throw badDigest(expected.algorithm === 'sha256' ? 'SHA256' : 'CRC64NVME');
    await rename(temporary, path);
  } catch (err) {
    await rm(temporary, { force: true });
    throw err;
  }
  return { size, md5: md5.digest('hex') };
}

function durableWrites(store: S3rverStore): void {
  store.putObject = async (object) => {
    const expected = typeof object.content === 'object' ? expectedChecksums.get(object.content) : undefined;
    const written = await writeFileDurably(store.getResourcePath(object.bucket, object.key, 'object'), object.content, expected);
    await store.putMetadata(object.bucket, object.key, object.metadata, written.md5);
    return written;
  };
  store.putPart = async (bucket, uploadId, partNumber, content) => {
    const path = join(store.getResourcePath(bucket, undefined, 'uploads'), uploadId, String(partNumber));
    const written = await writeFileDurably(path, content, expectedChecksums.get(content));
    await writeFile(`${path}.md5`, written.md5);
    return written;
  };
  const assemble = store.putObjectMultipart.bind(store);
  store.putObjectMultipart = async (bucket, uploadId, parts) => {
    const expected = expectedMultipart.get(`${bucket}/${uploadId}`);
    if (expected !== undefined) {
      // The full-object checksum over the parts as they will be joined, before anything is assembled.
      const crc = checksummer('crc64nvme');
      const dir = join(store.getResourcePath(bucket, undefined, 'uploads'), uploadId);
      for (const part of [...parts].sort((a, b) => a.number - b.number)) crc.update(readFileSync(join(dir, String(part.number))));
      if ((await crc.digest()) !== expected) throw badDigest('CRC64NVME');
    }
    return assemble(bucket, uploadId, parts);
  };
}

export interface S3Server {
  /** http://127.0.0.1:PORT */
  endpoint: string;
  close(): Promise<void>;
}

export async function startS3Server(opts: { port?: number } = {}): Promise<S3Server> {
  // A fresh directory per server: tests never see each other's buckets.
  const directory = mkdtempSync(join(tmpdir(), 'botvault-s3rver-'));
  const server = new S3rver({
    address: '127.0.0.1',
    port: opts.port ?? 0,
    directory,
    silent: true,
    resetOnClose: true,
    allowMismatchedSignatures: false,
    // Path-style only: virtual-host buckets would need DNS names for 127.0.0.1.
    vhostBuckets: false,
  });
  // First in the stack, so these run before s3rver's router rejects them.
  server.middleware.unshift(multipartGaps(directory), conditionalWrites(directory));
  durableWrites(server.store);
  let address: AddressInfo;
  try {
    address = await server.run();
  } catch (err) {
    rmSync(directory, { recursive: true, force: true });
    throw err;
  }
  let closed: Promise<void> | undefined;
  return {
    endpoint: `http://127.0.0.1:${address.port}`,
    close() {
      closed ??= (async () => {
        // SDK clients keep sockets alive; without this close() waits for them to time out.
        server.httpServer?.closeAllConnections();
        await server.close();
        rmSync(directory, { recursive: true, force: true });
      })();
      return closed;
    },
  };
}

/** An S3 client for a local S3-compatible endpoint (s3rver by default credentials). */
export function s3ClientFor(endpoint: string, credentials: { accessKeyId: string; secretAccessKey: string } = S3RVER_CREDENTIALS): S3Client {
  return new S3Client({
    endpoint,
    region: 'us-east-1',
    forcePathStyle: true,
    credentials,
    // The SDK's default (WHEN_SUPPORTED) sends streamed bodies as aws-chunked
    // with a CRC32 trailer; s3rver does not decode that framing and would store
    // it as part of the object. Only checksum when the operation requires it.
    requestChecksumCalculation: 'WHEN_REQUIRED',
    responseChecksumValidation: 'WHEN_REQUIRED',
  });
}

export async function createBucket(endpoint: string, name: string): Promise<void> {
  const client = s3ClientFor(endpoint);
  try {
    await client.send(new CreateBucketCommand({ Bucket: name }));
  } finally {
    client.destroy();
  }
}

/** An s3rver and an SDK client to it, as a test file's beforeAll starts them. */
interface LocalS3 {
  server: S3Server;
  s3: S3Client;
}

/** Starts an s3rver and a client to it, with `bucket` created when one is named. */
export async function startLocalS3(bucket?: string): Promise<LocalS3> {
  const server = await startS3Server();
  const s3 = s3ClientFor(server.endpoint);
  try {
    if (bucket) await s3.send(new CreateBucketCommand({ Bucket: bucket }));
  } catch (err) {
    await stopLocalS3({ server, s3 });
    throw err;
  }
  return { server, s3 };
}

/** Stops what startLocalS3 started; either may be missing (a beforeAll that failed). */
export async function stopLocalS3(local: Partial<LocalS3>): Promise<void> {
  local.s3?.destroy();
  await local.server?.close();
}

const xmlEscape = (v: string) => v.replace(/[<>&'"]/g, (c) => `&#${c.charCodeAt(0)};`);

function s3Error(ctx: KoaContext, status: number, code: string, message: string): void {
  ctx.status = status;
  ctx.type = 'application/xml';
  ctx.body = `<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>${code}</Code><Message>${xmlEscape(message)}</Message></Error>`;
}

const keyLocks = new Map<string, Promise<void>>();

/** Runs `fn` while holding `key`'s lock: calls for one key run one after another. */
async function withKeyLock<T>(key: string, fn: () => Promise<T>): Promise<T> {
  const before = keyLocks.get(key) ?? Promise.resolve();
  let release!: () => void;
  const mine = new Promise<void>((r) => {
    release = r;
  });
  const chained = before.then(() => mine);
  keyLocks.set(key, chained);
  await before;
  try {
    return await fn();
  } finally {
    release();
    if (keyLocks.get(key) === chained) keyLocks.delete(key);
  }
}

const header = (ctx: KoaContext, name: string) => {
  const v = ctx.headers[name];
  return Array.isArray(v) ? v[0] : v;
};

/**
 * Conditional writes (`If-None-Match: *`, `If-Match`) on PutObject and
 * CompleteMultipartUpload, checked against s3rver's object files (the ETag is
 * the MD5 in `<key>._S3rver_object.md5`) under one lock per key; request
 * checksums handed to the store methods (durableWrites), which verify them.
 */
function conditionalWrites(root: string): KoaMiddleware {
  return async (ctx, next) => {
    const [, bucket, ...rest] = ctx.path.split('/');
    if (!bucket || rest.length === 0) return next();
    const isPart = 'partNumber' in ctx.query;
    const isComplete = ctx.method === 'POST' && typeof ctx.query.uploadId === 'string';
    const isPut = ctx.method === 'PUT' && !isPart && !('uploadId' in ctx.query);
    if (ctx.method === 'PUT' && isPart) {
      const crc = header(ctx, 'x-amz-checksum-crc64nvme');
      if (crc && typeof ctx.req === 'object' && ctx.req) expectedChecksums.set(ctx.req, { algorithm: 'crc64nvme', base64: crc });
      return next();
    }
    if (!isPut && !isComplete) return next();
    const sha256 = isPut ? header(ctx, 'x-amz-checksum-sha256') : undefined;
    if (sha256 && typeof ctx.req === 'object' && ctx.req) expectedChecksums.set(ctx.req, { algorithm: 'sha256', base64: sha256 });
    const fullCrc = isComplete ? header(ctx, 'x-amz-checksum-crc64nvme') : undefined;
    if (fullCrc) expectedMultipart.set(`${bucket}/${String(ctx.query.uploadId)}`, fullCrc);
    const ifNoneMatch = header(ctx, 'if-none-match');
    const ifMatch = header(ctx, 'if-match');
    const write = async () => {
      await next();
      if (sha256 && ctx.status === 200) ctx.set('x-amz-checksum-sha256', sha256);
    };
    if (ifNoneMatch === undefined && ifMatch === undefined) return write();
    if (ifNoneMatch !== undefined && ifNoneMatch !== '*')
      return s3Error(ctx, 501, 'NotImplemented', 'A header you provided implies functionality that is not implemented');
    const parts = rest.map(decodeURIComponent).join('/').split('/');
    const objectFile = join(root, bucket, ...parts.slice(0, -1), `${parts[parts.length - 1]}._S3rver_object`);
    return withKeyLock(objectFile, async () => {
      const etag = existsSync(objectFile) ? readFileSync(`${objectFile}.md5`, 'utf8').trim() : undefined;
      const failed =
        (ifNoneMatch === '*' && etag !== undefined) || (ifMatch !== undefined && (etag === undefined || ifMatch.replace(/"/g, '') !== etag));
      if (failed) return s3Error(ctx, 412, 'PreconditionFailed', 'At least one of the pre-conditions you specified did not hold');
      return write();
    });
  };
}

/** AbortMultipartUpload and ListMultipartUploads over s3rver's upload directories. */
function multipartGaps(root: string): KoaMiddleware {
  return async (ctx, next) => {
    const [, bucket, ...rest] = ctx.path.split('/');
    const key = rest.map(decodeURIComponent).join('/');
    const abort = ctx.method === 'DELETE' && key !== '' && typeof ctx.query.uploadId === 'string';
    const list = ctx.method === 'GET' && key === '' && 'uploads' in ctx.query;
    if (!bucket || !(abort || list)) return next();

    // The same check s3rver makes for SigV4 requests: the one known access key id.
    const auth = `${ctx.headers.authorization ?? ''}${ctx.query['X-Amz-Credential'] ?? ''}`;
    if (!auth.includes('S3RVER/'))
      return s3Error(ctx, 403, 'InvalidAccessKeyId', 'The AWS Access Key Id you provided does not exist in our records.');
    if (!existsSync(join(root, bucket))) return s3Error(ctx, 404, 'NoSuchBucket', 'The specified bucket does not exist');
    const uploadsDir = join(root, bucket, '._S3rver_uploads');

    if (abort) {
      const uploadId = String(ctx.query.uploadId);
      const dir = join(uploadsDir, uploadId);
      if (!/^[0-9a-f]+$/.test(uploadId) || !existsSync(dir) || readFileSync(join(dir, 'key'), 'utf8') !== key) {
        return s3Error(
          ctx,
          404,
          'NoSuchUpload',
          'The specified upload does not exist. The upload ID may be invalid, or the upload may have been aborted or completed.',
        );
      }
      rmSync(dir, { recursive: true, force: true });
      ctx.status = 204;
      ctx.body = null;
      return;
    }

    const prefix = typeof ctx.query.prefix === 'string' ? ctx.query.prefix : '';
    const uploads = (existsSync(uploadsDir) ? readdirSync(uploadsDir) : [])
      .filter((id) => existsSync(join(uploadsDir, id, 'key')))
      .map((id) => ({
        id,
        key: readFileSync(join(uploadsDir, id, 'key'), 'utf8'),
        initiated: statSync(join(uploadsDir, id, 'key')).mtime.toISOString(),
      }))
      .filter((u) => u.key.startsWith(prefix))
      .sort((a, b) => a.key.localeCompare(b.key) || a.id.localeCompare(b.id));
    ctx.status = 200;
    ctx.type = 'application/xml';
    ctx.body =
      '<?xml version="1.0" encoding="UTF-8"?>\n<ListMultipartUploadsResult xmlns="http://s3.amazonaws.com/doc/2006-03-01/">' +
      `<Bucket>${xmlEscape(bucket)}</Bucket><KeyMarker></KeyMarker><UploadIdMarker></UploadIdMarker>` +
      `<Prefix>${xmlEscape(prefix)}</Prefix><MaxUploads>1000</MaxUploads><IsTruncated>false</IsTruncated>` +
      uploads
        .map(
          (u) =>
            `<Upload><Key>${xmlEscape(u.key)}</Key><UploadId>${u.id}</UploadId><Initiated>${u.initiated}</Initiated><StorageClass>STANDARD</StorageClass></Upload>`,
        )
        .join('') +
      '</ListMultipartUploadsResult>';
  };
}
