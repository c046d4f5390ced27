/**
 * Writes zip archives for the generators, through the same library that reads
 * them (@zip.js/zip.js), with the container details of the real exports.
 */
import { TextReader, Uint8ArrayReader, Uint8ArrayWriter, ZipWriter } from '@zip.js/zip.js';

export type Encryption = 'zipcrypto' | 'aes256';

export interface ZipEntryInput {
  readonly name: string;
  readonly data: string | Uint8Array;
}

export interface WriteZipOptions {
  /** Every entry's DOS timestamp. */
  readonly mtime: Date;
  /** Encrypts every entry. */
  readonly password?: string;
  /** @default 'aes256' when a password is given */
  readonly encryption?: Encryption;
  /**
   * `java`: what real Lex V2 exports are (README "Export formats"): version
   * made by 2.0 on MS-DOS/FAT, flags 0x0808 (UTF-8 names, data descriptor
   * with its PK\x07\x08 signature), deflate, no extra fields, no directory
   * entries, external attributes 0. `plain`: zip.js defaults (Unix host,
   * extended timestamps), as a user's own zip tool might write. `kore`: what
   * a real Kore.ai export is: made by 4.5 on Unix, flags 0x0008 (data
   * descriptor, no UTF-8 flag), deflate, no extra fields, external attributes
   * 0x81B40020 (-rw-rw-r-- plus the DOS archive bit).
   * @default 'java'
   */
  readonly style?: 'java' | 'kore' | 'plain';
  /** Stores entries uncompressed (level 0). */
  readonly store?: boolean;
}

export async function writeZip(entries: readonly ZipEntryInput[], opts: WriteZipOptions): Promise<Buffer> {
  const style = opts.style ?? 'java';
  const writer = new ZipWriter(new Uint8ArrayWriter(), {
    useWebWorkers: false,
    level: opts.store ? 0 : 6,
    lastModDate: opts.mtime,
    ...(style === 'java'
      ? {
          versionMadeBy: 20,
          msDosCompatible: true,
          extendedTimestamp: false,
          useUnicodeFileNames: true,
          dataDescriptor: true,
          dataDescriptorSignature: true,
          externalFileAttributes: 0,
        }
      : style === 'kore'
        ? {
            versionMadeBy: (3 << 8) | 45,
            msDosCompatible: false,
            extendedTimestamp: false,
            useUnicodeFileNames: false,
            dataDescriptor: true,
            dataDescriptorSignature: true,
            externalFileAttributes: 0x81b40020,
          }
        : {}),
    ...(opts.password !== undefined
      ? (opts.encryption ?? 'aes256') === 'zipcrypto'
        ? { password: opts.password, zipCrypto: true }
        : { password: opts.password, encryptionStrength: 3 as const }
      : {}),
  });
  for (const e of entries) {
    await writer.add(e.name, typeof e.data === 'string' ? new TextReader(e.data) : new Uint8ArrayReader(e.data));
  }
  return Buffer.from(await writer.close());
}
