/**
 * Authenticated backups: every archive version, restore sidecar and run
 * manifest BotVault writes carries a MAC (object metadata `mac`) made with
 * the stack's KMS HMAC key (GenerateMac, HMAC_SHA_256), over a canonical
 * record of what a restore relies on. Readers (`get`, `diff`, `restore`,
 * `status`, the drill) rebuild the record from the object they read — its
 * key, its real size and SHA-256, its metadata — and ask KMS VerifyMac.
 *
 * The threat this answers: a principal who can write the bucket (a leaked
 * role, a bad bucket policy) but may not use the key cannot plant or alter
 * a version that verifies, even when it recomputes every `sha256`. The
 * record is built from the metadata as stored, so the writer and every
 * reader compute it from the same strings, and the verifier always uses
 * the key it was configured with, never one an object names. The deep
 * drill is not a writer of that key: it MACs its own reports and scratch
 * bot records (kind `drill`) with a key of its own (BOTVAULT_DRILL_MAC_KEY_ID)
 * and may only VerifyMac with the archive key, so its role cannot make an
 * archive, sidecar or manifest MAC either.
 *
 * KMS facts (KMS API reference GenerateMac/VerifyMac; @aws-sdk/client-kms
 * 3.1164's command docs): Message is 1–4,096 bytes; a MAC that does not
 * match is the error `KMSInvalidMacException` (VerifyMac never answers
 * MacValid false in practice, but a false is treated the same).
 */
import { GenerateMacCommand, type KMSClient, VerifyMacCommand } from '@aws-sdk/client-kms';
import { ProviderUnavailableError } from './errors';
import { CONTENT_SHA256_METADATA, MAC_METADATA, PASSWORD_SECRET_METADATA, RESTORE_INFO_SHA256_METADATA, RUN_ID_METADATA } from './names';

/** The only MAC algorithm of an HMAC_256 key. */
const MAC_ALGORITHM = 'HMAC_SHA_256';
/** The record format's tag, inside the message and in the metadata value (`v1:<base64>`). */
const RECORD_VERSION = 'v1';
/** KMS GenerateMac's largest Message. */
const MAX_MESSAGE_BYTES = 4096;

/** What kind of object a record describes: a MAC of one kind never verifies as another. */
type MacKind = 'archive' | 'sidecar' | 'manifest' | 'changes' | 'drill';

/** The fields a MAC covers, in this order; metadata fields absent on the object are null. */
const METADATA_FIELDS: Record<MacKind, readonly string[]> = {
  archive: [CONTENT_SHA256_METADATA, RESTORE_INFO_SHA256_METADATA, RUN_ID_METADATA, 'export-id', 'source', PASSWORD_SECRET_METADATA],
  sidecar: [RESTORE_INFO_SHA256_METADATA, RUN_ID_METADATA, 'source'],
  manifest: [RUN_ID_METADATA],
  changes: [RUN_ID_METADATA, 'source'],
  /** Deep drill reports and the drill's scratch bot records (lambdas/deep-drill), made with the drill's own key, not the archive key. */
  drill: [RUN_ID_METADATA],
};

export interface MacSubject {
  readonly kind: MacKind;
  /** The object's key. */
  readonly key: string;
  /** The object's size in bytes: the real one (a reader counts what it read). */
  readonly bytes: number;
  /** SHA-256 (hex) of the object's bytes: the real one (a reader hashes what it read). */
  readonly sha256: string;
  /** The object's user metadata as stored (S3 lower-cases the names). */
  readonly metadata: Readonly<Record<string, string | undefined>>;
}

/**
 * The canonical message: the version tag, then a JSON array of the fields in
 * a fixed order. JSON's string escaping makes it unambiguous (a key holding
 * a quote or a newline cannot shift a field).
 */
export function macMessage(s: MacSubject): Buffer {
  const fields = [s.kind, s.key, s.bytes, s.sha256.toLowerCase(), ...METADATA_FIELDS[s.kind].map((name) => s.metadata[name] ?? null)];
  const message = Buffer.from(`botvault-mac/${RECORD_VERSION}\n${JSON.stringify(fields)}`, 'utf8');
  // A key is at most 1,024 bytes and every other field is short, so only a hostile key could get here.
  if (message.length > MAX_MESSAGE_BYTES)
    throw new ProviderUnavailableError(`The MAC record of ${s.key.slice(0, 80)}… is longer than KMS's 4,096 bytes.`);
  return message;
}

/** The stack's HMAC key, as the writer and the readers use it. */
export interface MacKey {
  /** The key's id or ARN (for messages). */
  readonly keyId: string;
  generate(message: Uint8Array): Promise<Uint8Array>;
  /** True when the MAC matches; false when KMS says it does not (KMSInvalidMacException). Other failures (KMS unavailable, throttled, access denied, key disabled) throw ProviderUnavailableError, which the workflow retries. */
  verify(message: Uint8Array, mac: Uint8Array): Promise<boolean>;
}

const kmsFailure = (op: string, keyId: string, err: unknown) =>
  new ProviderUnavailableError(`KMS ${op} with key ${keyId} failed: ${(err as Error).name}: ${(err as Error).message}`, { cause: err });

export function kmsMacKey(kms: KMSClient, keyId: string): MacKey {
  return {
    keyId,
    async generate(message) {
      try {
        const res = await kms.send(new GenerateMacCommand({ KeyId: keyId, Message: message, MacAlgorithm: MAC_ALGORITHM }));
        if (!res.Mac?.length) throw new Error('GenerateMac answered without a Mac');
        return res.Mac;
      } catch (err) {
        throw kmsFailure('GenerateMac', keyId, err);
      }
    },
    async verify(message, mac) {
      try {
        const res = await kms.send(new VerifyMacCommand({ KeyId: keyId, Message: message, Mac: mac, MacAlgorithm: MAC_ALGORITHM }));
        return res.MacValid === true;
      } catch (err) {
        if ((err as Error).name === 'KMSInvalidMacException') return false;
        throw kmsFailure('VerifyMac', keyId, err);
      }
    },
  };
}

/** The `mac` metadata value for a subject whose metadata does not carry it yet. */
export async function macMetadata(key: MacKey, subject: MacSubject): Promise<string> {
  const mac = await key.generate(macMessage(subject));
  return `${RECORD_VERSION}:${Buffer.from(mac).toString('base64')}`;
}

/**
 * Whether an object is what BotVault wrote: `authentic`, or why not
 * (`missing`: no MAC at all — written before MACs, or by someone else;
 * `invalid`: a MAC that does not verify for this object's record). A reader
 * with no key configured gets `unchecked`. KMS failures throw.
 */
export type MacVerdict = { readonly status: 'authentic' } | { readonly status: 'missing' | 'invalid' | 'unchecked'; readonly reason: string };

export async function checkMac(key: MacKey | undefined, subject: MacSubject): Promise<MacVerdict> {
  if (!key) return { status: 'unchecked', reason: 'no MAC key is configured to check it with' };
  const raw = subject.metadata[MAC_METADATA];
  if (!raw) return { status: 'missing', reason: `it carries no ${MAC_METADATA} metadata (stored before MACs, or not by BotVault)` };
  // The whole value, exactly: `v1:` and one base64 string (nothing after it may ride along).
  const b64 = new RegExp(`^${RECORD_VERSION}:([A-Za-z0-9+/]+={0,2})$`).exec(raw)?.[1];
  if (!b64) {
    return { status: 'invalid', reason: `its ${MAC_METADATA} metadata is not a BotVault MAC` };
  }
  const ok = await key.verify(macMessage(subject), Buffer.from(b64, 'base64'));
  return ok
    ? { status: 'authentic' }
    : {
        status: 'invalid',
        reason: `its MAC does not verify with key ${key.keyId}: the object or its metadata was changed, or it was not written by this stack`,
      };
}
