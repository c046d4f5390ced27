/**
 * AWS clients for the Lambdas, created lazily and cached.
 *
 * Every client is built with the SDK's default configuration, so the standard
 * `AWS_ENDPOINT_URL_<SERVICE>` variables (and AWS_REGION, credentials) decide
 * where it talks to (DESIGN §3 "Endpoints"). In Lambda the environment never
 * changes, so each client is created once per container. The cache is keyed by
 * a fingerprint of the variables the SDK reads at construction, because the
 * local runner and the tests host every handler in one process and repoint the
 * environment between runs: a client cached from the previous run would keep
 * talking to a simulator that is gone.
 */
import { createHash } from 'node:crypto';
import { KMSClient } from '@aws-sdk/client-kms';
import { LexModelsV2Client } from '@aws-sdk/client-lex-models-v2';
import { S3Client } from '@aws-sdk/client-s3';
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { SNSClient } from '@aws-sdk/client-sns';
import { SFNClient } from '@aws-sdk/client-sfn';
import { fromTemporaryCredentials } from '@aws-sdk/credential-providers';
import type { LexEndpoint } from '../../lib/providers/lex/provider';

type Env = Record<string, string | undefined>;

const FINGERPRINT_VARS = [
  'AWS_REGION',
  'AWS_DEFAULT_REGION',
  'AWS_PROFILE',
  'AWS_ACCESS_KEY_ID',
  'AWS_SECRET_ACCESS_KEY',
  'AWS_SESSION_TOKEN',
  'AWS_ENDPOINT_URL',
  'AWS_IGNORE_CONFIGURED_ENDPOINT_URLS',
  'BOTVAULT_S3_CHECKSUMS',
];

/** Hash of the variables a client of `service` depends on (hashed: credentials are among them). */
function fingerprint(serviceVar: string, env: Env): string {
  const hash = createHash('sha256');
  for (const name of [...FINGERPRINT_VARS, serviceVar]) hash.update(`${name}=${env[name] ?? ''}\n`);
  return hash.digest('hex');
}

function cached<T>(serviceVar: string, create: (env: Env) => T): (env?: Env) => T {
  let entry: { key: string; client: T } | undefined;
  return (env = process.env) => {
    const key = fingerprint(serviceVar, env);
    if (entry?.key !== key) entry = { key, client: create(env) };
    return entry.client;
  };
}

/**
 * Socket timeouts for the API clients: without them a provider that accepts the
 * connection and never answers holds the Lambda until its own timeout, which
 * surfaces as an opaque Lambda timeout instead of a retryable provider error.
 */
const API_REQUEST_HANDLER = { connectionTimeout: 5_000, requestTimeout: 30_000 };

/**
 * S3: path-style addressing when an endpoint override is set (local S3 servers
 * do not serve `<bucket>.127.0.0.1`), and checksums only when an operation
 * requires them (s3rver would otherwise store the aws-chunked framing of a
 * streamed upload as part of the object; REFERENCE "Local S3 servers").
 * BOTVAULT_S3_CHECKSUMS=WHEN_SUPPORTED (the stack sets it with Object Lock)
 * sends a checksum with every upload instead: S3 rejects uploads without
 * Content-MD5 or a checksum into a bucket with default Object Lock retention.
 */
export function createS3Client(env: Env = process.env): S3Client {
  return new S3Client({
    forcePathStyle: Boolean(env.AWS_ENDPOINT_URL_S3 || env.AWS_ENDPOINT_URL),
    requestChecksumCalculation: env.BOTVAULT_S3_CHECKSUMS === 'WHEN_SUPPORTED' ? 'WHEN_SUPPORTED' : 'WHEN_REQUIRED',
    responseChecksumValidation: 'WHEN_REQUIRED',
    requestHandler: { connectionTimeout: 5_000, requestTimeout: 120_000 },
  });
}

function createLexClient(_env: Env = process.env): LexModelsV2Client {
  return new LexModelsV2Client({ requestHandler: API_REQUEST_HANDLER });
}

/** One role session per function: CloudTrail in the member account shows which BotVault Lambda called. */
const ROLE_SESSION = (env: Env) => `BotVault-${(env.AWS_LAMBDA_FUNCTION_NAME ?? 'local').replace(/[^\w+=,.@-]/g, '-')}`.slice(0, 64);

/**
 * Lex in a target's region, through the member account's role where it has one. The credentials
 * come from STS AssumeRole (the SDK's fromTemporaryCredentials: it calls STS with the function's own
 * credentials, in the function's region, at AWS_ENDPOINT_URL_STS when set, and refreshes them before
 * they expire). Clients are cached per region, role and external ID: a container reuses the assumed
 * credentials across invocations until they are near expiry, instead of one AssumeRole per call.
 */
function createLexClientAt(where: LexEndpoint, env: Env): LexModelsV2Client {
  return new LexModelsV2Client({
    region: where.region,
    requestHandler: API_REQUEST_HANDLER,
    ...(where.roleArn
      ? {
          credentials: fromTemporaryCredentials({
            params: {
              RoleArn: where.roleArn,
              RoleSessionName: ROLE_SESSION(env),
              ...(where.externalId ? { ExternalId: where.externalId } : {}),
              DurationSeconds: 3600,
            },
            // STS in the function's own region (the SDK would otherwise use the Lex client's: an opt-in region
            // not enabled in the home account, or a VPC with only the home region's STS endpoint, would fail).
            clientConfig: { requestHandler: API_REQUEST_HANDLER, ...(env.AWS_REGION ? { region: env.AWS_REGION } : {}) },
          }),
        }
      : {}),
  });
}

const lexClientsAt = new Map<string, LexModelsV2Client>();

/** Lex at `where` (the home client when `where` is the functions' own region without a role). */
export function lexClientAt(where: LexEndpoint, env: Env = process.env): LexModelsV2Client {
  if (!where.roleArn && where.region === env.AWS_REGION) return lexClient(env);
  const key = `${fingerprint('AWS_ENDPOINT_URL_LEX_MODELS_V2', env)} ${fingerprint('AWS_ENDPOINT_URL_STS', env)} ${where.region} ${where.roleArn ?? ''} ${where.externalId ?? ''}`;
  const cachedClient = lexClientsAt.get(key);
  if (cachedClient) return cachedClient;
  const client = createLexClientAt(where, env);
  lexClientsAt.set(key, client);
  return client;
}

function createSecretsClient(_env: Env = process.env): SecretsManagerClient {
  return new SecretsManagerClient({ requestHandler: API_REQUEST_HANDLER });
}

function createSfnClient(_env: Env = process.env): SFNClient {
  return new SFNClient({ requestHandler: API_REQUEST_HANDLER });
}

/**
 * The change notification is the last thing Summarize does in its 60 s:
 * 5 s per attempt and 3 attempts keep a hung SNS from timing the function out
 * (which would fail a run whose backups are all stored, and retry the publish).
 */
function createSnsClient(_env: Env = process.env): SNSClient {
  return new SNSClient({ requestHandler: { connectionTimeout: 2_000, requestTimeout: 5_000 }, maxAttempts: 3 });
}

function createKmsClient(_env: Env = process.env): KMSClient {
  return new KMSClient({ requestHandler: API_REQUEST_HANDLER });
}

// /* @__PURE__ */: cached() only returns a closure, so esbuild may drop the clients a Lambda never calls (and their SDK code) from its bundle.
export const s3Client = /* @__PURE__ */ cached('AWS_ENDPOINT_URL_S3', createS3Client);
export const lexClient = /* @__PURE__ */ cached('AWS_ENDPOINT_URL_LEX_MODELS_V2', createLexClient);
export const secretsClient = /* @__PURE__ */ cached('AWS_ENDPOINT_URL_SECRETS_MANAGER', createSecretsClient);
export const kmsClient = /* @__PURE__ */ cached('AWS_ENDPOINT_URL_KMS', createKmsClient);
export const sfnClient = /* @__PURE__ */ cached('AWS_ENDPOINT_URL_SFN', createSfnClient);
export const snsClient = /* @__PURE__ */ cached('AWS_ENDPOINT_URL_SNS', createSnsClient);
