/**
 * Everything `botvault` talks to, on 127.0.0.1: the Lex V2 simulator, an S3
 * server (s3rver, or Swift for real versioning), the Step Functions simulator
 * (which runs the synthesized definition with the real handlers in this
 * process), KMS with the stack's HMAC key, STS, and the CloudFormation
 * simulator holding the stack's outputs.
 *
 * With `lexEstate`, Lex is an estate of accounts and regions instead
 * (lex-estate.ts): the bots are the home tenant's (123456789012/us-east-1),
 * and STS is a simulator sharing a credential registry with it, so the
 * credentials its AssumeRole issues reach Lex in the role's account only
 * (the stack's own STS is then not used).
 *
 * `cli()` runs the real command line as a child process (`node
 * bin/botvault.mjs`), its AWS clients pointed at the simulators only through
 * the standard AWS_ENDPOINT_URL_<SERVICE> variables, as an operator's would be.
 * It is asynchronous on purpose: the simulators live in this process, and a
 * synchronous spawn would stop them from answering.
 */
import { execFile } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { KMSClient } from '@aws-sdk/client-kms';
import { PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { kmsMacKey, type MacSubject, macMetadata } from '../../lib/core/mac';
import { MAC_METADATA } from '../../lib/core/names';
import type { BotVaultConfig } from '../../lib/config/config';
import type { CfnSimulator } from '../simulators/cfn-simulator';
import type { KmsSimulator } from '../simulators/kms-simulator';
import { type LexEstate, startLexEstate } from '../simulators/lex-estate';
import { startLexSimulator, type LexSimulator, type LexSimulatorOptions, type SimBot } from '../simulators/lex-simulator';
import { SimCredentials } from '../simulators/sim-credentials';
import { startSecretsSimulator } from '../simulators/secrets-simulator';
import { startSimulatedStack } from '../simulators/stack';
import { type SimRole, type StsSimulator, startStsSimulator } from '../simulators/sts-simulator';
import type { SfnSimulator } from '../simulators/sfn-simulator';

const BIN = resolve(import.meta.dirname, '../../bin/botvault.mjs');

export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** The home account of the harness: the STS simulator's default caller's, and the one the Lambdas' jobs name. */
export const HARNESS_ACCOUNT = '123456789012';

export interface CliHarness {
  /** The Lex the bots are in (with `lexEstate`: the estate's home tenant; its `url` is then not an API endpoint, `estate.url` is). */
  lex: LexSimulator;
  /** With `lexEstate`: every account and region's Lex behind one endpoint. */
  estate?: LexEstate;
  s3: S3Client;
  bucket: string;
  sfn: SfnSimulator;
  cfn: CfnSimulator;
  /** Whom the CLI's credentials belong to (restore compares a new bot's role with this account). */
  sts: StsSimulator;
  /** KMS with the stack's HMAC key (the stack output AuthenticationKeyArn). */
  kms: KmsSimulator;
  macKeyArn: string;
  config: BotVaultConfig;
  /** The config file the CLI reads (its stackName is the CloudFormation simulator's stack). */
  configFile: string;
  /** The CLI's working directory (default download location). */
  dir: string;
  /** The environment every CLI call gets (endpoints, region, credentials). */
  env: Record<string, string>;
  cli(args: string[], opts?: { env?: Record<string, string | undefined>; tty?: boolean }): Promise<CliResult>;
  /**
   * Writes an object as the stack's writers do: with its `sha256` and a MAC
   * made with the stack's key (a version from an earlier backup, a sidecar
   * of another era). Returns its version id. Objects planted *without* the
   * key are written with the S3 client directly.
   */
  putAsStack(kind: MacSubject['kind'], key: string, body: Buffer | string, metadata?: Record<string, string>): Promise<string | undefined>;
  close(): Promise<void>;
}

export async function startCliHarness(opts: {
  bots: SimBot[];
  targets: Record<string, unknown>[];
  stackName: string;
  s3?: 's3rver' | 'swift';
  /** Secrets Manager secrets (name → value): a Secrets Manager simulator for the handlers and the CLI. */
  secrets?: Record<string, string>;
  testSets?: string[];
  /** Origins besides the Lex simulator's that the config's downloadAllowlist names (a Kore.ai simulator's). */
  downloadAllowlist?: string[];
  /** The config's `accounts` (member accounts), as the file holds them. */
  accounts?: Record<string, unknown>[];
  /**
   * Lex as an estate of accounts and regions, and STS with AssumeRole of `roles` over the same
   * credential registry (the harness's credentials are the home account's, as
   * `arn:aws:iam::123456789012:user/botvault-operator`). `tenants` are the other accounts and regions.
   */
  lexEstate?: { tenants?: Record<string, LexSimulatorOptions>; roles?: SimRole[] };
}): Promise<CliHarness> {
  const homeOptions: LexSimulatorOptions = {
    bots: opts.bots,
    defaultFaults: { exportLatencyMs: 100 },
    ...(opts.testSets ? { testSets: opts.testSets } : {}),
  };
  const registry = opts.lexEstate ? new SimCredentials({ home: [] }) : undefined;
  const estateSts = registry ? await startStsSimulator({ credentials: registry, roles: opts.lexEstate!.roles ?? [] }) : undefined;
  const estate = registry
    ? await startLexEstate({ credentials: registry, tenants: { ...opts.lexEstate!.tenants, [`${HARNESS_ACCOUNT}/us-east-1`]: homeOptions } })
    : undefined;
  const lex = estate ? estate.tenant(HARNESS_ACCOUNT, 'us-east-1') : await startLexSimulator(homeOptions);
  const lexUrl = estate?.url ?? lex.url;
  const secrets = opts.secrets ? await startSecretsSimulator({ secrets: opts.secrets }) : undefined;
  // The handlers run in this process (inside the Step Functions simulator): point their provider clients here.
  if (secrets) process.env.AWS_ENDPOINT_URL_SECRETS_MANAGER = secrets.url;
  process.env.AWS_ENDPOINT_URL_LEX_MODELS_V2 = lexUrl;
  const rawConfig = {
    stackName: opts.stackName,
    maxConcurrency: 4,
    downloadAllowlist: [lexUrl, ...(opts.downloadAllowlist ?? [])],
    targets: opts.targets,
    ...(opts.accounts ? { accounts: opts.accounts } : {}),
  };
  const stack = await startSimulatedStack({ rawConfig, s3: opts.s3 ?? 's3rver', bucket: `botvault-cli-${randomBytes(5).toString('hex')}` });
  const { s3, bucket, sfn, cfn, kms, macKeyArn, config, credentials } = stack;
  const sts = estateSts ?? stack.sts;
  // The harness's credentials (the CLI's and the handlers') are the home account's, as the estate and its STS see them.
  registry?.addHome({ ...credentials, accountId: HARNESS_ACCOUNT, arn: `arn:aws:iam::${HARNESS_ACCOUNT}:user/botvault-operator` });

  const dir = mkdtempSync(join(tmpdir(), 'botvault-cli-e2e-'));
  const configFile = join(dir, 'botvault.config.json');
  writeFileSync(configFile, JSON.stringify(rawConfig, null, 2));

  const env: Record<string, string> = {
    PATH: process.env.PATH ?? '',
    // No profile, no config files, no instance metadata: credentials come only from what a test passes.
    HOME: dir,
    AWS_CONFIG_FILE: join(dir, 'no-aws-config'),
    AWS_SHARED_CREDENTIALS_FILE: join(dir, 'no-aws-credentials'),
    AWS_EC2_METADATA_DISABLED: 'true',
    AWS_REGION: 'us-east-1',
    AWS_ACCESS_KEY_ID: credentials.accessKeyId,
    AWS_SECRET_ACCESS_KEY: credentials.secretAccessKey,
    AWS_ENDPOINT_URL_SFN: sfn.url,
    AWS_ENDPOINT_URL_S3: stack.endpoints.AWS_ENDPOINT_URL_S3!,
    AWS_ENDPOINT_URL_CLOUDFORMATION: cfn.url,
    AWS_ENDPOINT_URL_STS: sts.url,
    AWS_ENDPOINT_URL_KMS: kms.url,
    ...(secrets ? { AWS_ENDPOINT_URL_SECRETS_MANAGER: secrets.url } : {}),
  };

  return {
    lex,
    ...(estate ? { estate } : {}),
    s3,
    bucket,
    sfn,
    cfn,
    sts,
    kms,
    macKeyArn,
    config,
    configFile,
    dir,
    env,
    cli(args, o = {}) {
      const merged: Record<string, string> = { ...env };
      for (const [k, v] of Object.entries(o.env ?? {})) {
        if (v === undefined) delete merged[k];
        else merged[k] = v;
      }
      // tty: run under util-linux `script`, which gives the CLI a pseudo-terminal as stdout (and
      // merges stderr into it), the way an operator's shell does.
      const [file, argv] = o.tty
        ? ['script', ['-qefc', [process.execPath, BIN, ...args].map(shellQuote).join(' '), '/dev/null']]
        : [process.execPath, [BIN, ...args]];
      if (o.tty) merged.TERM = 'xterm';
      return new Promise((done) => {
        execFile(file, argv, { cwd: dir, env: merged, timeout: 60_000 }, (err, stdout, stderr) => {
          const code = err ? (typeof err.code === 'number' ? err.code : -1) : 0;
          done({ code, stdout, stderr });
        });
      });
    },
    async putAsStack(kind, key, body, metadata = {}) {
      const bytes = Buffer.from(body);
      const sha256 = createHash('sha256').update(bytes).digest('hex');
      const withSha = { ...metadata, sha256 };
      const client = new KMSClient({ endpoint: kms.url, region: 'us-east-1', credentials });
      try {
        const value = await macMetadata(kmsMacKey(client, macKeyArn), { kind, key, bytes: bytes.length, sha256, metadata: withSha });
        const put = await s3.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: bytes, Metadata: { ...withSha, [MAC_METADATA]: value } }));
        return put.VersionId;
      } finally {
        client.destroy();
      }
    },
    async close() {
      // The stack first: the Step Functions simulator lets running executions finish, and they still call the providers.
      await stack.close();
      if (estate) {
        await estate.close();
        await estateSts!.close();
      } else await lex.close();
      await secrets?.close();
      if (secrets) delete process.env.AWS_ENDPOINT_URL_SECRETS_MANAGER;
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

const shellQuote = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`;
