/**
 * A download server for the benchmark that never holds an archive in memory:
 * `GET /zip/<bytes>` streams a valid zip of exactly that many bytes in the
 * container format of a real Lex V2 export (README "Export formats"): the
 * entry is deflated, general-purpose flags 0x0808 (UTF-8 name, CRC-32 and
 * sizes after the data in a data descriptor with its `PK\x07\x08` signature),
 * version needed 2.0, made by 2.0 on MS-DOS. Its data is a repeated
 * pseudo-random block, which does not compress: the deflate stream is made of
 * stored blocks (RFC 1951 §3.2.4: a 1-byte header, LEN, NLEN, then the bytes),
 * as zlib itself emits for incompressible input, so "archive MiB" in the
 * results are the bytes moved, and the reader still inflates and CRC-checks
 * every one of them. Generated on the fly with backpressure; CRC-32 and sizes
 * are computed while sending.
 *
 * Run as a child process (`node --import tsx zip-source.ts`): it prints
 * `{"url": "http://127.0.0.1:PORT"}` on stdout once it listens, so the
 * benchmark's measured processes share neither memory nor an event loop
 * with the source.
 */
import { createServer, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { crc32 } from 'node:zlib';

const ENTRY_NAME = Buffer.from('bench/data.bin');
const LOCAL_HEADER = 30;
const DATA_DESCRIPTOR = 16;
const CENTRAL_HEADER = 46;
const EOCD = 22;
const FLAGS = 0x0808;
const DEFLATE = 8;
/** A stored deflate block: at most 65,535 bytes after a 5-byte header (BFINAL/BTYPE byte, LEN, NLEN). */
const STORED_BLOCK_MAX = 0xffff;
const STORED_BLOCK_HEADER = 5;
/** Fixed overhead of the zip around the entry's deflate stream. */
export const ZIP_OVERHEAD = LOCAL_HEADER + ENTRY_NAME.length + DATA_DESCRIPTOR + CENTRAL_HEADER + ENTRY_NAME.length + EOCD;
const BLOCK = deterministicBlock(STORED_BLOCK_MAX);

/** Bytes from a xorshift32 generator with a fixed seed: the same bytes in every run. */
function deterministicBlock(size: number): Buffer {
  const block = Buffer.alloc(size + 3);
  let x = 0x9e3779b9;
  for (let i = 0; i < size; i += 4) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    block.writeUInt32LE(x >>> 0, i);
  }
  return block.subarray(0, size);
}

function localHeader(): Buffer {
  const h = Buffer.alloc(LOCAL_HEADER);
  h.writeUInt32LE(0x04034b50, 0);
  h.writeUInt16LE(20, 4); // version needed
  h.writeUInt16LE(FLAGS, 6);
  h.writeUInt16LE(DEFLATE, 8);
  h.writeUInt16LE(ENTRY_NAME.length, 26);
  return Buffer.concat([h, ENTRY_NAME]);
}

function trailer(crc: number, compressed: number, uncompressed: number): Buffer {
  const dd = Buffer.alloc(DATA_DESCRIPTOR);
  dd.writeUInt32LE(0x08074b50, 0);
  dd.writeUInt32LE(crc >>> 0, 4);
  dd.writeUInt32LE(compressed, 8);
  dd.writeUInt32LE(uncompressed, 12);
  const cd = Buffer.alloc(CENTRAL_HEADER);
  cd.writeUInt32LE(0x02014b50, 0);
  cd.writeUInt16LE(20, 4); // made by 2.0, MS-DOS
  cd.writeUInt16LE(20, 6);
  cd.writeUInt16LE(FLAGS, 8);
  cd.writeUInt16LE(DEFLATE, 10);
  cd.writeUInt32LE(crc >>> 0, 16);
  cd.writeUInt32LE(compressed, 20);
  cd.writeUInt32LE(uncompressed, 24);
  cd.writeUInt16LE(ENTRY_NAME.length, 28);
  cd.writeUInt32LE(0, 42); // local header at offset 0
  const cdOffset = LOCAL_HEADER + ENTRY_NAME.length + compressed + DATA_DESCRIPTOR;
  const eocd = Buffer.alloc(EOCD);
  eocd.writeUInt32LE(0x06054b50, 0);
  eocd.writeUInt16LE(1, 8);
  eocd.writeUInt16LE(1, 10);
  eocd.writeUInt32LE(CENTRAL_HEADER + ENTRY_NAME.length, 12);
  eocd.writeUInt32LE(cdOffset, 16);
  return Buffer.concat([dd, cd, ENTRY_NAME, eocd]);
}

function storedBlockHeader(length: number, final: boolean): Buffer {
  const h = Buffer.alloc(STORED_BLOCK_HEADER);
  h.writeUInt8(final ? 1 : 0, 0); // BFINAL, BTYPE 00 (stored); the rest of the byte is padding
  h.writeUInt16LE(length, 1);
  h.writeUInt16LE(~length & 0xffff, 3);
  return h;
}

/** Writes a zip of exactly `total` bytes to `res`, honouring backpressure. */
function sendZip(res: ServerResponse, total: number): void {
  const compressed = total - ZIP_OVERHEAD;
  // As many blocks as the deflate stream needs; their data fills what their headers leave (the last may be short or empty).
  const blocks = Math.max(1, Math.ceil(compressed / (STORED_BLOCK_MAX + STORED_BLOCK_HEADER)));
  const uncompressed = compressed - blocks * STORED_BLOCK_HEADER;
  res.writeHead(200, { 'content-type': 'application/zip', 'content-length': String(total) });
  res.write(localHeader());
  let sent = 0;
  let block = 0;
  let crc = 0;
  const pump = () => {
    while (block < blocks) {
      const n = Math.min(STORED_BLOCK_MAX, uncompressed - sent);
      block++;
      const chunk = BLOCK.subarray(0, n);
      crc = crc32(chunk, crc);
      sent += n;
      res.write(storedBlockHeader(n, block === blocks));
      if (!res.write(chunk)) {
        res.once('drain', pump);
        return;
      }
    }
    res.end(trailer(crc, compressed, uncompressed));
  };
  pump();
}

if (process.argv[1] && import.meta.url.endsWith(process.argv[1].split('/').pop()!)) {
  const server = createServer((req, res) => {
    const m = /^\/zip\/(\d+)$/.exec(req.url ?? '');
    const total = m ? Number(m[1]) : NaN;
    if (!(total >= ZIP_OVERHEAD + STORED_BLOCK_HEADER) || total >= 2 ** 32) {
      res.writeHead(404).end();
      return;
    }
    sendZip(res, total);
  });
  server.listen(0, '127.0.0.1', () => {
    process.stdout.write(`${JSON.stringify({ url: `http://127.0.0.1:${(server.address() as AddressInfo).port}` })}\n`);
  });
  process.on('SIGTERM', () => server.close(() => process.exit(0)));
}
