/**
 * Bounds on what an archive may unpack to, checked against its central
 * directory before a byte is inflated (zip.ts), in StoreArchive, the restore
 * drill and the CLI alike. The declared sizes they add up are binding: an
 * entry that inflates past its declared size fails as it does (zip.ts). So a
 * zip bomb (a few MB inflating to GBs) is refused at once, in bounded
 * memory, instead of being inflated (it took 14 s and was stored) or held
 * whole (`diff`/`restore` took 4.2 GiB).
 *
 * Defaults, for bot definitions of kilobytes to a few megabytes: real exports
 * compress JSON about 5–30× (minified Lex JSON less, Kore.ai's pretty-printed
 * botDefinition.json more), far from 100×; a large Lex bot is a few
 * thousand entries. Config `archiveLimits` changes them.
 */
export interface ArchiveLimits {
  /** File entries in one archive. */
  readonly maxEntries: number;
  /** The sum of the entries' uncompressed sizes, in bytes. */
  readonly maxUncompressedBytes: number;
  /** Uncompressed ÷ compressed, over the whole archive, once it unpacks to more than RATIO_FLOOR_BYTES. */
  readonly maxCompressionRatio: number;
}

export const DEFAULT_ARCHIVE_LIMITS: ArchiveLimits = {
  maxEntries: 10_000,
  maxUncompressedBytes: 2048 * 1024 * 1024,
  maxCompressionRatio: 100,
};

/** Below this much uncompressed data no ratio is too high (a tiny archive of repeated text may compress 200×). */
const RATIO_FLOOR_BYTES = 16 * 1024 * 1024;

/** Why entries of these declared sizes exceed `limits`, or undefined when they do not. */
export function limitProblem(
  entries: readonly { readonly size: number; readonly compressedSize: number }[],
  limits: ArchiveLimits,
): string | undefined {
  if (entries.length > limits.maxEntries) {
    return `it has ${entries.length} entries, more than the ${limits.maxEntries} allowed (config archiveLimits.maxEntries)`;
  }
  const uncompressed = entries.reduce((n, e) => n + e.size, 0);
  const compressed = entries.reduce((n, e) => n + e.compressedSize, 0);
  if (uncompressed > limits.maxUncompressedBytes) {
    return `it unpacks to ${uncompressed} bytes, more than the ${limits.maxUncompressedBytes} allowed (config archiveLimits.maxUncompressedMiB)`;
  }
  if (uncompressed > RATIO_FLOOR_BYTES && uncompressed > compressed * limits.maxCompressionRatio) {
    return `it unpacks to ${uncompressed} bytes from ${compressed}, a compression ratio above the ${limits.maxCompressionRatio} allowed (config archiveLimits.maxCompressionRatio): a zip bomb?`;
  }
  return undefined;
}

/** The config's `archiveLimits` (sizes in MiB) as limits. */
export function archiveLimitsFromConfig(c: {
  readonly maxEntries: number;
  readonly maxUncompressedMiB: number;
  readonly maxCompressionRatio: number;
}): ArchiveLimits {
  return { maxEntries: c.maxEntries, maxUncompressedBytes: c.maxUncompressedMiB * 1024 * 1024, maxCompressionRatio: c.maxCompressionRatio };
}
