/**
 * A local AWS KMS for HMAC keys over the real awsJson1_1 protocol, for the
 * real `@aws-sdk/client-kms` client: point it here with `endpoint` or
 * `AWS_ENDPOINT_URL_KMS=<url>`.
 *
 * Wire format (the SDK's AwsJson1_1Protocol for KMS's service shape
 * `TrentService`): `POST /` with `X-Amz-Target: TrentService.<Operation>` and
 * `Content-Type: application/x-amz-json-1.1`; blobs (Message, Mac) travel as
 * base64 strings; errors are HTTP 400 (500 for server faults) with
 * `{"__type": "<ErrorName>", "message": "..."}`.
 *
 * Operations (KMS API reference, GenerateMac and VerifyMac; the error names
 * are the ones @aws-sdk/client-kms 3.1164's GenerateMacCommand and
 * VerifyMacCommand document):
 * - GenerateMac {Message, KeyId, MacAlgorithm} → {Mac, MacAlgorithm, KeyId}.
 * - VerifyMac {Message, KeyId, MacAlgorithm, Mac} → {MacValid: true, ...};
 *   a MAC that does not match is `KMSInvalidMacException`, not MacValid false.
 * - KeyId may be the key id, the key ARN, an alias name (`alias/x`) or an alias ARN;
 *   an unknown one is `NotFoundException`; a disabled key `DisabledException`;
 *   a key that is not an HMAC key, or an algorithm other than the key's
 *   (HMAC_SHA_256 for HMAC_256), `InvalidKeyUsageException`; a Message of 0
 *   or more than 4,096 bytes `ValidationException`.
 * - Key policy, simplified: `macUsers` per key names the access key ids that
 *   may call GenerateMac (from the SigV4 Authorization header's Credential);
 *   anyone else gets `AccessDeniedException`. VerifyMac is open to all callers.
 * - `failNext(op, error, times, when?)` answers the next calls of an operation
 *   (optionally only those whose message `when` accepts) with an error (KeyUnavailableException / KMSInternalException are 500s), so a
 *   KMS outage can be injected for real.
 * - An Authorization header is required (400 MissingAuthenticationTokenException).
 */
import { createHmac, randomBytes, randomUUID, timingSafeEqual } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { AwsJsonError, listen, readAwsJsonRequest, sendJson } from './http';

export interface KmsSimulatorOptions {
  /** @default 'us-east-1' */
  readonly region?: string;
  /** @default '123456789012' */
  readonly accountId?: string;
  /** @default any free port */
  readonly port?: number;
}

interface KmsKeyOptions {
  /** Alias name, `alias/...`. */
  readonly alias?: string;
  /** Access key ids allowed to GenerateMac. @default everyone */
  readonly macUsers?: readonly string[];
  /** A key of another usage (to test InvalidKeyUsageException). @default 'GENERATE_VERIFY_MAC' */
  readonly keyUsage?: 'GENERATE_VERIFY_MAC' | 'ENCRYPT_DECRYPT';
}

interface KmsCall {
  readonly op: string;
  readonly keyId?: string;
  readonly status: number;
  readonly error?: string;
}

export interface KmsSimulator {
  readonly url: string;
  readonly calls: KmsCall[];
  /** Creates an HMAC_256 key and returns its ARN. */
  createKey(opts?: KmsKeyOptions): string;
  /** Disables or enables a key. */
  setEnabled(keyArn: string, enabled: boolean): void;
  /** The next `times` calls of `op` (only those whose Message, as text, `when` accepts) fail with `error`. */
  failNext(op: 'GenerateMac' | 'VerifyMac', error: string, times?: number, when?: (message: string) => boolean): void;
  close(): Promise<void>;
}

const CONTENT_TYPE = 'application/x-amz-json-1.1';
const MAX_MESSAGE_BYTES = 4096;
const SERVER_FAULTS = new Set(['KeyUnavailableException', 'KMSInternalException', 'DependencyTimeoutException']);

interface KeyState {
  readonly id: string;
  readonly arn: string;
  readonly secret: Buffer;
  readonly usage: string;
  readonly macUsers?: readonly string[];
  enabled: boolean;
}

/** `AWS4-HMAC-SHA256 Credential=AKID/20240101/us-east-1/kms/aws4_request, ...` → AKID. */
function accessKeyOf(req: IncomingMessage): string | undefined {
  return /Credential=([^/,\s]+)\//.exec(String(req.headers.authorization ?? ''))?.[1];
}

export async function startKmsSimulator(opts: KmsSimulatorOptions = {}): Promise<KmsSimulator> {
  const region = opts.region ?? 'us-east-1';
  const accountId = opts.accountId ?? '123456789012';
  const keys = new Map<string, KeyState>();
  const aliases = new Map<string, string>();
  const faults = new Map<string, { error: string; times: number; when?: (message: string) => boolean }>();
  const calls: KmsCall[] = [];

  function createKey(k: KmsKeyOptions = {}): string {
    const id = randomUUID();
    const arn = `arn:aws:kms:${region}:${accountId}:key/${id}`;
    keys.set(id, {
      id,
      arn,
      secret: randomBytes(32),
      usage: k.keyUsage ?? 'GENERATE_VERIFY_MAC',
      enabled: true,
      ...(k.macUsers ? { macUsers: k.macUsers } : {}),
    });
    if (k.alias) aliases.set(k.alias, id);
    return arn;
  }

  function find(keyId: unknown): KeyState {
    if (typeof keyId !== 'string' || keyId.length === 0)
      throw new AwsJsonError(
        'ValidationException',
        "1 validation error detected: Value null at 'keyId' failed to satisfy constraint: Member must not be null",
      );
    const aliasArn = `arn:aws:kms:${region}:${accountId}:alias/`;
    const keyArn = `arn:aws:kms:${region}:${accountId}:key/`;
    let id: string | undefined = keyId;
    if (keyId.startsWith(keyArn)) id = keyId.slice(keyArn.length);
    else if (keyId.startsWith(aliasArn)) id = aliases.get(`alias/${keyId.slice(aliasArn.length)}`);
    else if (keyId.startsWith('alias/')) id = aliases.get(keyId);
    else if (keyId.startsWith('arn:')) id = undefined;
    const key = id ? keys.get(id) : undefined;
    if (!key) throw new AwsJsonError('NotFoundException', `Key '${keyId}' does not exist`);
    if (!key.enabled) throw new AwsJsonError('DisabledException', `${key.arn} is disabled.`);
    return key;
  }

  function blob(input: Record<string, unknown>, member: 'Message' | 'Mac'): Buffer {
    const raw = input[member];
    if (typeof raw !== 'string')
      throw new AwsJsonError(
        'ValidationException',
        `1 validation error detected: Value null at '${member.toLowerCase()}' failed to satisfy constraint: Member must not be null`,
      );
    const bytes = Buffer.from(raw, 'base64');
    if (member === 'Message' && (bytes.length < 1 || bytes.length > MAX_MESSAGE_BYTES)) {
      throw new AwsJsonError(
        'ValidationException',
        `1 validation error detected: Value at 'message' failed to satisfy constraint: Member must have length ${bytes.length < 1 ? 'greater than or equal to 1' : `less than or equal to ${MAX_MESSAGE_BYTES}`}`,
      );
    }
    return bytes;
  }

  function mac(input: Record<string, unknown>): { key: KeyState; digest: Buffer } {
    const key = find(input.KeyId);
    if (key.usage !== 'GENERATE_VERIFY_MAC')
      throw new AwsJsonError('InvalidKeyUsageException', `${key.arn} key usage is ${key.usage} which is not valid for GenerateMac or VerifyMac.`);
    if (input.MacAlgorithm !== 'HMAC_SHA_256')
      throw new AwsJsonError('InvalidKeyUsageException', `Algorithm ${String(input.MacAlgorithm)} is incompatible with key spec HMAC_256.`);
    return { key, digest: createHmac('sha256', key.secret).update(blob(input, 'Message')).digest() };
  }

  function generateMac(input: Record<string, unknown>, caller: string | undefined): Record<string, unknown> {
    const { key, digest } = mac(input);
    if (key.macUsers && !(caller && key.macUsers.includes(caller))) {
      throw new AwsJsonError(
        'AccessDeniedException',
        `User: arn:aws:sts::${accountId}:assumed-role/${caller ?? 'anonymous'} is not authorized to perform: kms:GenerateMac on resource: ${key.arn} because no resource-based policy allows the kms:GenerateMac action`,
      );
    }
    return { Mac: digest.toString('base64'), MacAlgorithm: 'HMAC_SHA_256', KeyId: key.arn };
  }

  function verifyMac(input: Record<string, unknown>): Record<string, unknown> {
    const { key, digest } = mac(input);
    const given = blob(input, 'Mac');
    if (given.length !== digest.length || !timingSafeEqual(given, digest)) {
      throw new AwsJsonError('KMSInvalidMacException', 'The HMAC verification failed.');
    }
    return { KeyId: key.arn, MacValid: true, MacAlgorithm: 'HMAC_SHA_256' };
  }

  const send = (res: ServerResponse, status: number, body: unknown) =>
    sendJson(res, status, body, { 'content-type': CONTENT_TYPE, 'x-amzn-requestid': randomUUID() });

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const target = String(req.headers['x-amz-target'] ?? '');
    const op = target.startsWith('TrentService.') ? target.slice('TrentService.'.length) : target || 'Unknown';
    let keyId: string | undefined;
    let status = 500;
    let error: string | undefined;
    try {
      const input = await readAwsJsonRequest(req, CONTENT_TYPE);
      if (typeof input.KeyId === 'string') keyId = input.KeyId;
      const fault = faults.get(op);
      const message = typeof input.Message === 'string' ? Buffer.from(input.Message, 'base64').toString('utf8') : '';
      if (fault && fault.times > 0 && (!fault.when || fault.when(message))) {
        fault.times--;
        throw new AwsJsonError(fault.error, `Injected ${fault.error}.`, SERVER_FAULTS.has(fault.error) ? 500 : 400);
      }
      let out: Record<string, unknown>;
      if (op === 'GenerateMac') out = generateMac(input, accessKeyOf(req));
      else if (op === 'VerifyMac') out = verifyMac(input);
      else throw new AwsJsonError('UnknownOperationException', `Operation ${op} is not supported by this simulator.`);
      status = 200;
      send(res, 200, out);
    } catch (err) {
      const e = err instanceof AwsJsonError ? err : new AwsJsonError('KMSInternalException', 'Simulator error.', 500);
      status = e.status;
      error = e.type;
      send(res, e.status, { __type: e.type, message: e.message });
    } finally {
      calls.push({ op, ...(keyId ? { keyId } : {}), status, ...(error ? { error } : {}) });
    }
  }

  const { url, close } = await listen(
    createServer((req, res) => void handle(req, res)),
    opts.port,
  );
  return {
    url,
    calls,
    createKey,
    setEnabled(keyArn, enabled) {
      const key = keys.get(keyArn.split('/').pop()!);
      if (!key) throw new Error(`no key ${keyArn}`);
      key.enabled = enabled;
    },
    failNext(op, errorName, times = 1, when) {
      faults.set(op, { error: errorName, times, ...(when ? { when } : {}) });
    },
    close,
  };
}

/**
 * A KMS simulator with one HMAC key, and the environment that points the
 * handlers at it (AWS_ENDPOINT_URL_KMS, BOTVAULT_MAC_KEY_ID) set in this
 * process: what every harness that runs the writing handlers needs.
 */
export async function startKmsForHandlers(opts: KmsSimulatorOptions = {}): Promise<{ kms: KmsSimulator; macKeyArn: string; close(): Promise<void> }> {
  const kms = await startKmsSimulator(opts);
  const macKeyArn = kms.createKey({ alias: 'alias/botvault-mac' });
  process.env.AWS_ENDPOINT_URL_KMS = kms.url;
  process.env.BOTVAULT_MAC_KEY_ID = macKeyArn;
  return {
    kms,
    macKeyArn,
    async close() {
      await kms.close();
      if (process.env.AWS_ENDPOINT_URL_KMS === kms.url) delete process.env.AWS_ENDPOINT_URL_KMS;
      if (process.env.BOTVAULT_MAC_KEY_ID === macKeyArn) delete process.env.BOTVAULT_MAC_KEY_ID;
    },
  };
}
