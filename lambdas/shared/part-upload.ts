/**
 * Streams a body into one S3 object in flat memory: a fixed pool of
 * `queueSize + 1` part buffers, allocated once and reused, so memory does not
 * depend on the archive's size.
 *
 * Why not @aws-sdk/lib-storage's Upload: it allocates a new Buffer for every
 * part (Buffer.concat of the stream's chunks). Each part lives for its whole
 * UploadPart request, long enough to be promoted to V8's old generation, and is
 * freed only by the next full garbage collection, which V8 starts after tens of
 * MB of such garbage: peak RSS then grows by ~45 MB from a 10 MB archive to a
 * 1 GB one (README "Performance"), although only a few parts are ever live.
 *
 * Behaviour, as the archive store needs it:
 *  - a body that ends within the first part is one PutObject;
 *  - otherwise CreateMultipartUpload, up to `queueSize` UploadPart requests in
 *    flight (reading waits for a free buffer: backpressure), CompleteMultipartUpload;
 *  - any failure (the body's error, a part's error) aborts the multipart
 *    upload, waits for parts in flight, and rethrows the first error, so no
 *    object is completed from a bad body.
 */
import type { Readable } from 'node:stream';
import {
  AbortMultipartUploadCommand,
  CompleteMultipartUploadCommand,
  CreateMultipartUploadCommand,
  PutObjectCommand,
  UploadPartCommand,
  type CompletedPart,
  type S3Client,
} from '@aws-sdk/client-s3';

/** S3's smallest part (except the last). */
export const MIN_PART_SIZE = 5 * 1024 * 1024;

export interface StreamUploadParams {
  readonly s3: S3Client;
  readonly bucket: string;
  readonly key: string;
  readonly body: Readable;
  readonly contentType?: string;
  /** Bytes per part (at least 5 MiB). */
  readonly partSize: number;
  /** Parts uploaded at once (at least 1). */
  readonly queueSize: number;
}

export interface StreamUploadResult {
  readonly versionId?: string;
  readonly parts: number;
  readonly bytes: number;
}

export async function uploadStream(params: StreamUploadParams): Promise<StreamUploadResult> {
  const { s3, bucket, key, body, partSize, queueSize } = params;
  if (!Number.isInteger(partSize) || partSize < MIN_PART_SIZE)
    throw new RangeError(`uploadStream: partSize must be a whole number of bytes, at least ${MIN_PART_SIZE} (got ${partSize})`);
  if (!Number.isInteger(queueSize) || queueSize < 1)
    throw new RangeError(`uploadStream: queueSize must be a whole number, at least 1 (got ${queueSize})`);

  const free: Buffer[] = [Buffer.allocUnsafe(partSize)];
  let allocated = 1;
  const inFlight = new Set<Promise<void>>();
  const completed: CompletedPart[] = [];
  let uploadId: string | undefined;
  let failure: unknown;
  let current = free.pop()!;
  let filled = 0;
  let partNumber = 0;
  let bytes = 0;

  /**
   * A buffer to fill next: a free one, or a new one while the pool is not full. With at most
   * queueSize parts in flight (slot()) one of the queueSize + 1 buffers is always at hand; the
   * wait is a safeguard.
   */
  const takeBuffer = async (): Promise<Buffer> => {
    for (;;) {
      if (failure !== undefined) throw failure;
      const buffer = free.pop();
      if (buffer) return buffer;
      if (allocated < queueSize + 1) {
        allocated++;
        return Buffer.allocUnsafe(partSize);
      }
      await Promise.race(inFlight);
    }
  };

  /** Waits until fewer than queueSize parts are in flight. */
  const slot = async (): Promise<void> => {
    while (inFlight.size >= queueSize) await Promise.race(inFlight);
    if (failure !== undefined) throw failure;
  };

  const sendPart = (buffer: Buffer, length: number): void => {
    const number = ++partNumber;
    const task = (async () => {
      try {
        const res = await s3.send(
          new UploadPartCommand({
            Bucket: bucket,
            Key: key,
            UploadId: uploadId,
            PartNumber: number,
            Body: buffer.subarray(0, length),
            ContentLength: length,
          }),
        );
        completed.push({ PartNumber: number, ETag: res.ETag });
        free.push(buffer);
      } catch (err) {
        failure ??= err;
      }
    })();
    inFlight.add(task);
    void task.finally(() => inFlight.delete(task));
  };

  try {
    for await (const chunk of body as AsyncIterable<Buffer>) {
      let offset = 0;
      while (offset < chunk.length) {
        const n = Math.min(chunk.length - offset, partSize - filled);
        chunk.copy(current, filled, offset, offset + n);
        filled += n;
        offset += n;
        bytes += n;
        if (filled === partSize) {
          uploadId ??= (await s3.send(new CreateMultipartUploadCommand({ Bucket: bucket, Key: key, ContentType: params.contentType }))).UploadId;
          await slot();
          sendPart(current, filled);
          current = await takeBuffer();
          filled = 0;
        }
      }
      if (failure !== undefined) throw failure;
    }

    if (uploadId === undefined) {
      // The whole body fit in the first part: one request.
      const put = await s3.send(
        new PutObjectCommand({ Bucket: bucket, Key: key, Body: current.subarray(0, filled), ContentLength: filled, ContentType: params.contentType }),
      );
      return { ...(put.VersionId ? { versionId: put.VersionId } : {}), parts: 1, bytes };
    }
    if (filled > 0) {
      await slot();
      sendPart(current, filled);
    }
    await Promise.all(inFlight);
    if (failure !== undefined) throw failure;
    completed.sort((a, b) => a.PartNumber! - b.PartNumber!);
    const done = await s3.send(
      new CompleteMultipartUploadCommand({ Bucket: bucket, Key: key, UploadId: uploadId, MultipartUpload: { Parts: completed } }),
    );
    return { ...(done.VersionId ? { versionId: done.VersionId } : {}), parts: completed.length, bytes };
  } catch (err) {
    failure ??= err;
    await Promise.allSettled(inFlight);
    if (uploadId !== undefined) {
      // Best effort: the caller sweeps leftover uploads of this key, and the bucket's lifecycle rule is the backstop.
      await s3.send(new AbortMultipartUploadCommand({ Bucket: bucket, Key: key, UploadId: uploadId })).catch(() => undefined);
    }
    throw failure;
  }
}
