/**
 * A download server for the benchmark that never holds an archive in memory:
 * `GET /zip/<bytes>` streams a valid zip of exactly that many bytes, made of
 * one stored (uncompressed) entry whose data is a repeated 64 KiB
 * pseudo-random block, generated on the fly with backpressure. The entry
 * sets general purpose flag bit 3, so its CRC-32 and sizes follow the data
 * in a data descriptor and in the central directory, computed while sending.
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
/** Fixed overhead of the zip around the entry's data. */
export const ZIP_OVERHEAD = LOCAL_HEADER + ENTRY_NAME.length + DATA_DESCRIPTOR + CENTRAL_HEADER + ENTRY_NAME.length + EOCD;
const BLOCK = deterministicBlock(64 * 1024);

/** 64 KiB from a xorshift32 generator with a fixed seed: the same bytes in every run. */
function deterministicBlock(size: number): Buffer {
  const block = Buffer.alloc(size);
  let x = 0x9e3779b9;
  for (let i = 0; i < size; i += 4) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    block.writeUInt32LE(x >>> 0, i);
  }
  return block;
}

function localHeader(): Buffer {
  const h = Buffer.alloc(LOCAL_HEADER);
  h.writeUInt32LE(0x04034b50, 0);
  h.writeUInt16LE(20, 4); // version needed
  h.writeUInt16LE(0x0008, 6); // bit 3: CRC and sizes in the data descriptor
  h.writeUInt16LE(0, 8); // stored
  h.writeUInt16LE(ENTRY_NAME.length, 26);
  return Buffer.concat([h, ENTRY_NAME]);
}

function trailer(crc: number, dataBytes: number): Buffer {
  const dd = Buffer.alloc(DATA_DESCRIPTOR);
  dd.writeUInt32LE(0x08074b50, 0);
  dd.writeUInt32LE(crc >>> 0, 4);
  dd.writeUInt32LE(dataBytes, 8);
  dd.writeUInt32LE(dataBytes, 12);
  const cd = Buffer.alloc(CENTRAL_HEADER);
  cd.writeUInt32LE(0x02014b50, 0);
  cd.writeUInt16LE(20, 4);
  cd.writeUInt16LE(20, 6);
  cd.writeUInt16LE(0x0008, 8);
  cd.writeUInt32LE(crc >>> 0, 16);
  cd.writeUInt32LE(dataBytes, 20);
  cd.writeUInt32LE(dataBytes, 24);
  cd.writeUInt16LE(ENTRY_NAME.length, 28);
  cd.writeUInt32LE(0, 42); // local header at offset 0
  const cdOffset = LOCAL_HEADER + ENTRY_NAME.length + dataBytes + DATA_DESCRIPTOR;
  const eocd = Buffer.alloc(EOCD);
  eocd.writeUInt32LE(0x06054b50, 0);
  eocd.writeUInt16LE(1, 8);
  eocd.writeUInt16LE(1, 10);
  eocd.writeUInt32LE(CENTRAL_HEADER + ENTRY_NAME.length, 12);
  eocd.writeUInt32LE(cdOffset, 16);
  return Buffer.concat([dd, cd, ENTRY_NAME, eocd]);
}

/** Writes a zip of exactly `total` bytes to `res`, honouring backpressure. */
function sendZip(res: ServerResponse, total: number): void {
  const dataBytes = total - ZIP_OVERHEAD;
  res.writeHead(200, { 'content-type': 'application/zip', 'content-length': String(total) });
  res.write(localHeader());
  let sent = 0;
  let crc = 0;
  const pump = () => {
    while (sent < dataBytes) {
      const n = Math.min(BLOCK.length, dataBytes - sent);
      const chunk = n === BLOCK.length ? BLOCK : BLOCK.subarray(0, n);
      crc = crc32(chunk, crc);
      sent += n;
      if (!res.write(chunk)) {
        res.once('drain', pump);
        return;
      }
    }
    res.end(trailer(crc, dataBytes));
  };
  pump();
}

if (process.argv[1] && import.meta.url.endsWith(process.argv[1].split('/').pop()!)) {
  const server = createServer((req, res) => {
    const m = /^\/zip\/(\d+)$/.exec(req.url ?? '');
    const total = m ? Number(m[1]) : NaN;
    if (!(total > ZIP_OVERHEAD) || total >= 2 ** 32) {
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
