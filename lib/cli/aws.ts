/**
 * AWS clients for the CLI, and the translation of AWS failures into one-line
 * CliErrors an operator can act on.
 *
 * Every client is built from the SDK's default configuration (DESIGN §3
 * "Endpoints"): region, credentials and the standard
 * `AWS_ENDPOINT_URL_<SERVICE>` variables come from the environment or the
 * profile, so the same binary talks to AWS or to the local simulators.
 */
import { GetCallerIdentityCommand, STSClient } from '@aws-sdk/client-sts';
import type { Home } from '../core/accounts';
import { CloudFormationClient } from '@aws-sdk/client-cloudformation';
import { S3Client } from '@aws-sdk/client-s3';
import { SFNClient } from '@aws-sdk/client-sfn';
import { CliError } from './output';

export interface AwsOptions {
  /** Overrides AWS_REGION / the profile's region. */
  readonly region?: string;
}

const regionOf = (o: AwsOptions) => (o.region ? { region: o.region } : {});

export function s3Client(o: AwsOptions = {}): S3Client {
  return new S3Client({
    ...regionOf(o),
    // Local S3-compatible servers do not serve `<bucket>.127.0.0.1`: path style whenever an endpoint is overridden.
    forcePathStyle: Boolean(process.env.AWS_ENDPOINT_URL_S3 ?? process.env.AWS_ENDPOINT_URL),
    // Only checksum when an operation requires it: s3rver and Swift do not all speak the SDK's
    // newer CRC trailers, and `get` verifies the archive's own sha256 anyway.
    requestChecksumCalculation: 'WHEN_REQUIRED',
    responseChecksumValidation: 'WHEN_REQUIRED',
  });
}

export function sfnClient(o: AwsOptions = {}): SFNClient {
  return new SFNClient(regionOf(o));
}

export function cfnClient(o: AwsOptions = {}): CloudFormationClient {
  return new CloudFormationClient(regionOf(o));
}

/** `arn:aws:states:eu-west-1:123456789012:stateMachine:Name` → `eu-west-1`. */
export function regionFromArn(arn: string | undefined): string | undefined {
  const parts = arn?.split(':');
  return parts && parts.length >= 6 && parts[0] === 'arn' ? parts[3] || undefined : undefined;
}

export const NO_CREDENTIALS = 'no AWS credentials: set AWS_PROFILE or run `aws sso login`';

/** Error names with which AWS (or the SDK) says "I do not know who you are". */
const CREDENTIAL_ERRORS = new Set([
  'CredentialsProviderError',
  'ExpiredToken',
  'ExpiredTokenException',
  'UnrecognizedClientException',
  'InvalidClientTokenId',
  'InvalidAccessKeyId',
  'TokenRefreshRequired',
]);

const NETWORK_CODES = new Set(['ECONNREFUSED', 'ENOTFOUND', 'EAI_AGAIN', 'ECONNRESET', 'ETIMEDOUT', 'EHOSTUNREACH']);

/**
 * The CliError for an AWS failure that no command handles itself, or
 * undefined when `err` is not one of the well-known cases (then the caller
 * decides). `what` names the operation, e.g. "DescribeStacks BotVault".
 */
export function awsCliError(err: unknown, what: string): CliError | undefined {
  if (err instanceof CliError) return err;
  if (!(err instanceof Error)) return undefined;
  if (CREDENTIAL_ERRORS.has(err.name)) {
    // Missing credentials and rejected ones have the same fix; say which it was.
    return new CliError(err.name === 'CredentialsProviderError' ? NO_CREDENTIALS : `${NO_CREDENTIALS} (AWS said ${err.name} for ${what})`);
  }
  if (/region is missing/i.test(err.message)) {
    return new CliError('no AWS region: set AWS_REGION (or a region in your AWS profile), or pass --region');
  }
  const code = (err as { code?: string }).code ?? (err.cause as { code?: string } | undefined)?.code;
  if ((code && NETWORK_CODES.has(code)) || NETWORK_CODES.has(err.name)) {
    return new CliError(`cannot reach AWS for ${what} (${code ?? err.name}): check your network, or the AWS_ENDPOINT_URL_* variables if you set any`);
  }
  if (err.name === 'AccessDeniedException' || err.name === 'AccessDenied') {
    return new CliError(`access denied for ${what}: your AWS identity needs permission for it (${err.message})`);
  }
  return undefined;
}

/** Runs an AWS call; well-known failures become CliErrors, anything else is rethrown unchanged. */
export async function aws<T>(what: string, call: () => Promise<T>): Promise<T> {
  try {
    return await call();
  } catch (err) {
    throw awsCliError(err, what) ?? err;
  }
}

/** The HTTP status of an SDK error, if it has one. */
export function httpStatus(err: unknown): number | undefined {
  return (err as { $metadata?: { httpStatusCode?: number } } | undefined)?.$metadata?.httpStatusCode;
}

/**
 * The stack's own account and region as the CLI sees them: the region its clients use, and the account
 * of BOTVAULT_ACCOUNT_ID or else of the caller's credentials (STS GetCallerIdentity; an operator runs
 * the CLI in the stack's account). Archives there carry the short job ids (`lex:<botId>:<version>`);
 * unknown (no credentials for STS), every Lex id carries its account and region.
 */
export async function cliHome(o: AwsOptions = {}): Promise<Home> {
  // One short attempt: a machine that reaches S3 but not STS (an S3-only VPC endpoint) must not hang every command.
  const sts = new STSClient({ ...regionOf(o), maxAttempts: 1, requestHandler: { connectionTimeout: 3_000, requestTimeout: 5_000 } });
  try {
    const region = await sts.config.region();
    const fromEnv = process.env.BOTVAULT_ACCOUNT_ID;
    if (fromEnv) return { account: fromEnv, region };
    const account = await sts
      .send(new GetCallerIdentityCommand({}))
      .then((id) => id.Account)
      .catch(() => undefined);
    return { ...(account ? { account } : {}), region };
  } finally {
    sts.destroy();
  }
}
