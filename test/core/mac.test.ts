/**
 * The MAC record (lib/core/mac.ts): what it covers, that it is unambiguous,
 * and how checkMac classifies an object. The key is a real HMAC in this
 * process (the KMS round trip is test/simulators/kms-simulator.test.ts).
 */
import { createHmac, timingSafeEqual } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { checkMac, type MacKey, type MacSubject, macMessage, macMetadata } from '../../lib/core/mac';

const SECRET = Buffer.alloc(32, 9);
const hmacKey: MacKey = {
  keyId: 'test-key',
  generate: async (m) => createHmac('sha256', SECRET).update(m).digest(),
  verify: async (m, mac) => {
    const want = createHmac('sha256', SECRET).update(m).digest();
    return mac.length === want.length && timingSafeEqual(Buffer.from(mac), want);
  },
};

const archive: MacSubject = {
  kind: 'archive',
  key: 'lex/123456789012/us-east-1/ALPHABOT01/DRAFT/bot.zip',
  bytes: 1234,
  sha256: 'a'.repeat(64),
  metadata: { 'content-sha256': 'b'.repeat(64), 'run-id': 'scheduled-1', 'export-id': 'e1', source: 'lex:ALPHABOT01:DRAFT', 'bot-name': 'Alpha' },
};

describe('macMessage', () => {
  it('covers key, size, sha256 and each field restore relies on; not display-only metadata', () => {
    const base = macMessage(archive).toString();
    for (const changed of [
      { key: `${archive.key}x` },
      { bytes: 1235 },
      { sha256: 'c'.repeat(64) },
      { metadata: { ...archive.metadata, 'content-sha256': 'd'.repeat(64) } },
      { metadata: { ...archive.metadata, 'restore-info-sha256': 'e'.repeat(64) } },
      { metadata: { ...archive.metadata, 'run-id': 'scheduled-2' } },
      { metadata: { ...archive.metadata, 'export-id': 'e2' } },
      { metadata: { ...archive.metadata, source: 'lex:BRAVOBOT02:DRAFT' } },
      { metadata: { ...archive.metadata, 'password-secret': 'other/secret' } },
      { kind: 'sidecar' as const },
    ]) {
      expect(macMessage({ ...archive, ...changed }).toString(), JSON.stringify(changed)).not.toBe(base);
    }
    expect(macMessage({ ...archive, metadata: { ...archive.metadata, 'bot-name': 'Renamed' } }).toString()).toBe(base);
  });

  it('is unambiguous: a field that holds a quote, comma or newline cannot be read as two fields', () => {
    const a = { ...archive, metadata: { ...archive.metadata, 'run-id': 'x","y', 'export-id': 'z' } };
    const b = { ...archive, metadata: { ...archive.metadata, 'run-id': 'x', 'export-id': 'y","z' } };
    expect(macMessage(a).equals(macMessage(b))).toBe(false);
    expect(macMessage({ ...archive, key: 'a\nb' }).toString()).toContain('"a\\nb"');
  });

  it('fits KMS GenerateMac (at most 4,096 bytes) for S3 keys of the longest length, 1,024 bytes', () => {
    expect(macMessage({ ...archive, key: 'k'.repeat(1024) }).length).toBeLessThanOrEqual(4096);
  });
});

describe('checkMac', () => {
  it('authentic for the value macMetadata made; missing, invalid or unchecked otherwise, each with its reason', async () => {
    const mac = await macMetadata(hmacKey, archive);
    expect(mac).toMatch(/^v1:[A-Za-z0-9+/]{43}=$/);
    const signed = { ...archive, metadata: { ...archive.metadata, mac } };
    expect(await checkMac(hmacKey, signed)).toEqual({ status: 'authentic' });
    expect(await checkMac(hmacKey, archive)).toMatchObject({ status: 'missing', reason: expect.stringContaining('no mac metadata') });
    expect(await checkMac(hmacKey, { ...signed, bytes: 1 })).toMatchObject({
      status: 'invalid',
      reason: expect.stringContaining('does not verify with key test-key'),
    });
    expect(await checkMac(hmacKey, { ...signed, metadata: { ...signed.metadata, mac: 'v2:AAAA' } })).toMatchObject({
      status: 'invalid',
      reason: expect.stringContaining('not a BotVault MAC'),
    });
    expect(await checkMac(undefined, signed)).toMatchObject({ status: 'unchecked' });
  });
});
