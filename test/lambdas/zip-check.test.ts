import { describe, expect, it } from 'vitest';
import { DownloadIntegrityError } from '../../lambdas/shared/errors';
import { checkZip, DEFAULT_TAIL_BYTES, ZipStreamCheck } from '../../lambdas/shared/zip-check';
import { chunked, lexLikeZip, makeZip } from './zip-fixtures';

function expectIntegrityError(fn: () => unknown, reason: RegExp) {
  let thrown: unknown;
  try {
    fn();
  } catch (err) {
    thrown = err;
  }
  expect(thrown).toBeInstanceOf(DownloadIntegrityError);
  expect((thrown as Error).name).toBe('DownloadIntegrityError');
  expect((thrown as Error).message).toMatch(reason);
}

/** Feeds chunks one by one, as the stream would. */
function streamCheck(chunks: Buffer[], tailBytes?: number) {
  const check = new ZipStreamCheck(tailBytes);
  for (const c of chunks) check.update(c);
  return check.finish();
}

describe('streaming zip check: archives that pass', () => {
  it('accepts a small archive and walks its whole central directory', async () => {
    const zip = await lexLikeZip();
    expect(checkZip(zip)).toEqual({ entries: 2, walked: true, zip64: false });
  });

  it('gives the same answer whatever the chunking (1 byte, odd sizes, one buffer)', async () => {
    const zip = await lexLikeZip(70_000);
    const whole = checkZip(zip);
    expect(streamCheck(chunked(zip, [1]))).toEqual(whole);
    expect(streamCheck(chunked(zip, [7, 65_536, 3, 1000]))).toEqual(whole);
    expect(streamCheck(chunked(zip, [DEFAULT_TAIL_BYTES + 5]))).toEqual(whole);
  });

  it('finds the EOCD behind an archive comment', async () => {
    const zip = await makeZip({ 'a.txt': 'a' }, { comment: 'exported by a test '.repeat(20) });
    expect(checkZip(zip).entries).toBe(1);
  });

  it('follows the zip64 locator to the zip64 End Of Central Directory record', async () => {
    const zip = await makeZip({ 'a.txt': 'alpha', 'b.txt': 'bravo', 'c.txt': 'charlie' }, { zip64: true });
    expect(checkZip(zip)).toEqual({ entries: 3, walked: true, zip64: true });
  });

  it('checks offsets only when the central directory is larger than the kept tail', async () => {
    const entries = Object.fromEntries(Array.from({ length: 40 }, (_, i) => [`Bot/Intents/Intent${i}/Intent.json`, `{"n":${i}}`]));
    const zip = await makeZip(entries);
    expect(checkZip(zip, 400)).toEqual({ entries: 40, walked: false, zip64: false });
    expect(checkZip(zip)).toEqual({ entries: 40, walked: true, zip64: false });
  });

  it('keeps memory flat: the kept tail never grows past its fixed size', async () => {
    const zip = await lexLikeZip(300_000);
    const check = new ZipStreamCheck();
    for (const c of chunked(zip, [16_384])) check.update(c);
    expect((check as unknown as { ring: Buffer }).ring.length).toBe(DEFAULT_TAIL_BYTES);
    expect(check.bytes).toBe(zip.length);
    expect(check.finish().entries).toBe(3);
  });
});

describe('streaming zip check: bodies that fail', () => {
  it('an empty body', () => {
    expectIntegrityError(() => checkZip(Buffer.alloc(0)), /empty/);
  });

  it('a body too short to be a zip', () => {
    expectIntegrityError(() => checkZip(Buffer.from('PK\x03')), /too short/);
  });

  it('an HTML error page, rejected at the first chunk', () => {
    const check = new ZipStreamCheck();
    expectIntegrityError(() => check.update(Buffer.from('<?xml version="1.0"?><Error><Code>AccessDenied</Code></Error>')), /not a zip archive.*"<\?xm"/);
  });

  it('an empty zip archive (EOCD only) is not a backup', async () => {
    const empty = await makeZip({});
    expect(empty.length).toBe(22);
    expectIntegrityError(() => checkZip(empty), /not a zip archive/);
  });

  it('every truncation of a small archive fails', async () => {
    const zip = await lexLikeZip();
    for (let cut = 4; cut < zip.length; cut++) {
      expectIntegrityError(() => checkZip(zip.subarray(0, cut)), /End Of Central Directory|central directory|too short/);
    }
  });

  it('a large archive cut mid-body (its EOCD never arrives) fails', async () => {
    const zip = await lexLikeZip(200_000);
    expectIntegrityError(() => streamCheck(chunked(zip.subarray(0, 150_000), [8192])), /no End Of Central Directory record/);
  });

  it('a zip64 archive with its tail cut fails', async () => {
    const zip = await makeZip({ 'a.txt': 'alpha' }, { zip64: true });
    expectIntegrityError(() => checkZip(zip.subarray(0, zip.length - 30)), /End Of Central Directory/);
  });

  it('bytes appended after the EOCD fail (the comment length no longer matches)', async () => {
    const zip = await lexLikeZip();
    expectIntegrityError(() => checkZip(Buffer.concat([zip, Buffer.from('garbage')])), /no End Of Central Directory record/);
  });

  it('a damaged central directory entry fails', async () => {
    const zip = await lexLikeZip();
    const eocd = zip.length - 22;
    const cdOffset = zip.readUInt32LE(eocd + 16);
    const bad = Buffer.from(zip);
    bad.writeUInt32LE(0xdeadbeef, cdOffset);
    expectIntegrityError(() => checkZip(bad), /central directory entry 1 of 2 is missing or damaged/);
  });

  it('an entry count that disagrees with the central directory fails', async () => {
    const zip = await lexLikeZip();
    const eocd = zip.length - 22;
    const fewer = Buffer.from(zip);
    fewer.writeUInt16LE(1, eocd + 8);
    fewer.writeUInt16LE(1, eocd + 10);
    expectIntegrityError(() => checkZip(fewer), /holds more than the 1 entries/);
    const more = Buffer.from(zip);
    more.writeUInt16LE(3, eocd + 8);
    more.writeUInt16LE(3, eocd + 10);
    expectIntegrityError(() => checkZip(more), /entry 3 of 3 is missing/);
  });

  it('a central directory that does not end at the EOCD fails', async () => {
    const zip = await lexLikeZip();
    const eocd = zip.length - 22;
    const bad = Buffer.from(zip);
    bad.writeUInt32LE(zip.readUInt32LE(eocd + 16) - 1, eocd + 16);
    expectIntegrityError(() => checkZip(bad), /does not end at the End Of Central Directory/);
  });

  it('zip64 marker values without a zip64 locator fail', async () => {
    const zip = await lexLikeZip();
    const eocd = zip.length - 22;
    const bad = Buffer.from(zip);
    bad.writeUInt32LE(0xffffffff, eocd + 16);
    expectIntegrityError(() => checkZip(bad), /needs zip64 fields but has no zip64/);
  });

  it('a zip64 locator pointing at the wrong place fails', async () => {
    const zip = await makeZip({ 'a.txt': 'alpha' }, { zip64: true });
    const locator = zip.length - 22 - 20;
    expect(zip.readUInt32LE(locator)).toBe(0x07064b50);
    const bad = Buffer.from(zip);
    bad.writeBigUInt64LE(bad.readBigUInt64LE(locator + 8) + 4n, locator + 8);
    expectIntegrityError(() => checkZip(bad), /zip64 End Of Central Directory record is not where its locator says/);
  });

  it('a zip with zero entries declared fails', async () => {
    // A one-entry archive whose EOCD (and central directory size) claim nothing: the offsets still line up.
    const zip = await lexLikeZip();
    const eocd = zip.length - 22;
    const cdOffset = zip.readUInt32LE(eocd + 16);
    const emptied = Buffer.concat([zip.subarray(0, cdOffset), zip.subarray(eocd)]);
    const at = emptied.length - 22;
    emptied.writeUInt16LE(0, at + 8);
    emptied.writeUInt16LE(0, at + 10);
    emptied.writeUInt32LE(0, at + 12);
    expectIntegrityError(() => checkZip(emptied), /no entries/);
  });
});
