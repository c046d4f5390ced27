/**
 * StoreArchive's download deadline, from the Lambda context's remaining time:
 * the download must end (or be cut) early enough to abort its multipart upload
 * and report a named error before Lambda kills the function.
 */
import { describe, expect, it } from 'vitest';
import { downloadDeadline } from '../../lambdas/store-archive/handler';
import { DEFAULT_DOWNLOAD_DEADLINE_MS } from '../../lambdas/store-archive/store-archive';

describe('StoreArchive download deadline', () => {
  it('outside Lambda (no context): the default', () => {
    expect(downloadDeadline(undefined)).toBe(DEFAULT_DOWNLOAD_DEADLINE_MS);
  });

  it('keeps 60 s back from a long invocation (the 15-minute StoreArchive)', () => {
    expect(downloadDeadline(900_000)).toBe(840_000);
    expect(downloadDeadline(240_000)).toBe(180_000);
  });

  it('keeps a quarter back from a short one, and never goes below 1 s', () => {
    expect(downloadDeadline(60_000)).toBe(45_000);
    expect(downloadDeadline(2_000)).toBe(1_500);
    expect(downloadDeadline(1_200)).toBe(1_000);
    expect(downloadDeadline(0)).toBe(1_000);
  });

  it('always ends before the function would', () => {
    for (const remaining of [2_000, 10_000, 59_000, 61_000, 300_000, 899_999]) expect(downloadDeadline(remaining)).toBeLessThan(remaining);
  });
});
