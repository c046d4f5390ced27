/**
 * A local AWS Secrets Manager over the real awsJson1_1 protocol, for the real
 * `@aws-sdk/client-secrets-manager` client: point it here with `endpoint` or
 * `AWS_ENDPOINT_URL_SECRETS_MANAGER=<url>`.
 *
 * Wire format (as the SDK's AwsJson1_1Protocol expects it): `POST /` with
 * `X-Amz-Target: secretsmanager.<Operation>` and
 * `Content-Type: application/x-amz-json-1.1`; replies are JSON of the same
 * content type; errors are HTTP 400 with `{"__type": "<ErrorName>", "Message": "..."}`
 * (Secrets Manager's model names the member `Message`; the SDK reads either
 * spelling), which the SDK turns into an error whose `name` is `<ErrorName>`.
 *
 * Operations: GetSecretValue (by name, full ARN or partial ARN; optional
 * VersionId / VersionStage AWSCURRENT | AWSPREVIOUS) and a minimal
 * DescribeSecret. Anything else is a 400 UnknownOperationException.
 *
 * Behaviour worth knowing:
 * - A secret's ARN is `arn:aws:secretsmanager:<region>:<account>:secret:<name>-AbCdEf`
 *   (real ARNs end in 6 random characters; a fixed suffix keeps them
 *   predictable in tests). `arnOf(name)` returns it.
 * - `put(name, value)` creates the secret or adds a new version: the new one
 *   becomes AWSCURRENT, the previous AWSPREVIOUS (rotation).
 * - SigV4 signatures are not verified, but an Authorization header is
 *   required (400 MissingAuthenticationTokenException without one), so an
 *   unsigned client is caught.
 * - Secret values are never written to the console or to `calls`.
 */
import { createHash, randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { AwsJsonError, listen, readAwsJsonRequest, sendJson } from './http';

export interface SecretsSimulatorOptions {
  /** SecretString per secret name. */
  secrets: Record<string, string>;
  /** @default 'us-east-1' */
  region?: string;
  /** @default '000000000000' */
  accountId?: string;
  port?: number;
}

interface SecretsCall {
  op: string;
  /** The SecretId as sent (a name or an ARN; never a value). */
  secretId?: string;
  status: number;
  /** The error name, when the call failed. */
  error?: string;
}

export interface SecretsSimulator {
  url: string;
  close(): Promise<void>;
  calls: SecretsCall[];
  /** Creates the secret, or adds a new AWSCURRENT version of it. */
  put(name: string, value: string): void;
  /** The full ARN of a secret name (whether or not it exists). */
  arnOf(name: string): string;
}

const CONTENT_TYPE = 'application/x-amz-json-1.1';
const ARN_SUFFIX = 'AbCdEf';

const notFound = () => new AwsJsonError('ResourceNotFoundException', "Secrets Manager can't find the specified secret.");
const notFoundVersion = () =>
  new AwsJsonError('ResourceNotFoundException', "Secrets Manager can't find the specified secret value for staging label: AWSCURRENT");

interface SecretVersion {
  versionId: string;
  value: string;
  createdAt: number;
  stages: string[];
}
interface SecretState {
  name: string;
  createdAt: number;
  changedAt: number;
  /** Oldest first. */
  versions: SecretVersion[];
}

const epochSeconds = (ms: number) => Math.floor(ms / 1000);

/** A stable, uuid-shaped version id: same name and sequence, same id. */
function versionIdFor(name: string, n: number): string {
  const h = createHash('sha256').update(`${name}\0${n}`).digest('hex');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-4${h.slice(13, 16)}-a${h.slice(17, 20)}-${h.slice(20, 32)}`;
}

export async function startSecretsSimulator(opts: SecretsSimulatorOptions): Promise<SecretsSimulator> {
  const region = opts.region ?? 'us-east-1';
  const accountId = opts.accountId ?? '000000000000';
  const arnPrefix = `arn:aws:secretsmanager:${region}:${accountId}:secret:`;
  const arnOf = (name: string) => `${arnPrefix}${name}-${ARN_SUFFIX}`;
  const secrets = new Map<string, SecretState>();
  const calls: SecretsCall[] = [];

  function put(name: string, value: string): void {
    const now = Date.now();
    let s = secrets.get(name);
    if (!s) secrets.set(name, (s = { name, createdAt: now, changedAt: now, versions: [] }));
    for (const v of s.versions) {
      v.stages = v.stages.includes('AWSCURRENT') ? ['AWSPREVIOUS'] : v.stages.filter((st) => st !== 'AWSPREVIOUS');
    }
    s.versions.push({ versionId: versionIdFor(name, s.versions.length + 1), value, createdAt: now, stages: ['AWSCURRENT'] });
    s.changedAt = now;
  }
  for (const [name, value] of Object.entries(opts.secrets)) put(name, value);

  /** Resolves a SecretId as AWS does: a name, a full ARN, or a partial ARN (without the random suffix). */
  function find(secretId: unknown): SecretState {
    if (typeof secretId !== 'string' || secretId.length === 0) {
      throw new AwsJsonError(
        'ValidationException',
        "1 validation error detected: Value at 'secretId' failed to satisfy constraint: Member must not be null",
      );
    }
    if (!secretId.startsWith('arn:')) {
      const s = secrets.get(secretId);
      if (!s) throw notFound();
      return s;
    }
    if (!secretId.startsWith(arnPrefix)) throw notFound();
    const rest = secretId.slice(arnPrefix.length);
    const full = rest.endsWith(`-${ARN_SUFFIX}`) ? secrets.get(rest.slice(0, -(ARN_SUFFIX.length + 1))) : undefined;
    const s = full ?? secrets.get(rest);
    if (!s) throw notFound();
    return s;
  }

  function getSecretValue(body: Record<string, unknown>): Record<string, unknown> {
    const s = find(body.SecretId);
    let v: SecretVersion | undefined;
    if (body.VersionId !== undefined) {
      v = s.versions.find((x) => x.versionId === body.VersionId);
      if (!v)
        throw new AwsJsonError(
          'ResourceNotFoundException',
          `Secrets Manager can't find the specified secret value for VersionId: ${String(body.VersionId)}`,
        );
      if (body.VersionStage !== undefined && !v.stages.includes(String(body.VersionStage))) {
        throw new AwsJsonError('InvalidRequestException', 'You provided a VersionStage that is not associated to the provided VersionId.');
      }
    } else {
      const stage = body.VersionStage === undefined ? 'AWSCURRENT' : String(body.VersionStage);
      v = s.versions.find((x) => x.stages.includes(stage));
      if (!v)
        throw body.VersionStage === undefined
          ? notFoundVersion()
          : new AwsJsonError('ResourceNotFoundException', `Secrets Manager can't find the specified secret value for staging label: ${stage}`);
    }
    return {
      ARN: arnOf(s.name),
      Name: s.name,
      VersionId: v.versionId,
      SecretString: v.value,
      VersionStages: [...v.stages],
      CreatedDate: epochSeconds(v.createdAt),
    };
  }

  function describeSecret(body: Record<string, unknown>): Record<string, unknown> {
    const s = find(body.SecretId);
    return {
      ARN: arnOf(s.name),
      Name: s.name,
      LastChangedDate: epochSeconds(s.changedAt),
      CreatedDate: epochSeconds(s.createdAt),
      VersionIdsToStages: Object.fromEntries(s.versions.filter((v) => v.stages.length).map((v) => [v.versionId, v.stages])),
    };
  }

  const send = (res: ServerResponse, status: number, body: unknown) =>
    sendJson(res, status, body, { 'content-type': CONTENT_TYPE, 'x-amzn-requestid': randomUUID() });

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const target = String(req.headers['x-amz-target'] ?? '');
    const op = target.startsWith('secretsmanager.') ? target.slice('secretsmanager.'.length) : target || 'Unknown';
    const call: SecretsCall = { op, status: 500 };
    try {
      const input = await readAwsJsonRequest(req, CONTENT_TYPE);
      if (typeof input.SecretId === 'string') call.secretId = input.SecretId;
      let out: Record<string, unknown>;
      if (op === 'GetSecretValue') out = getSecretValue(input);
      else if (op === 'DescribeSecret') out = describeSecret(input);
      else throw new AwsJsonError('UnknownOperationException', `Operation ${op} is not supported by this simulator.`);
      call.status = 200;
      send(res, 200, out);
    } catch (err) {
      const e = err instanceof AwsJsonError ? err : new AwsJsonError('InternalServiceError', 'Simulator error.', 500);
      call.status = e.status;
      call.error = e.type;
      send(res, e.status, { __type: e.type, Message: e.message });
    } finally {
      calls.push(call);
    }
  }

  const { url, close } = await listen(
    createServer((req, res) => void handle(req, res)),
    opts.port,
  );
  return { url, calls, put, arnOf, close };
}
