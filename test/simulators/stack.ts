/**
 * The deployed BotVault stack, simulated on 127.0.0.1: what `cdk deploy`
 * creates and the CLI and the AWS CLI talk to. An S3 server with the archive
 * bucket (OpenStack Swift, versioned, or s3rver in-process, which keeps no old
 * versions), KMS holding the stack's HMAC key, STS, SNS with the alarm topic
 * (the run's change notification), the Step Functions simulator running the
 * synthesized definition with the real handlers in this process, and the
 * CloudFormation simulator holding the stack's outputs.
 *
 * The providers (Lex V2, Kore.ai) and Secrets Manager are not part of the
 * stack: the caller starts them and points this process at them with their
 * AWS_ENDPOINT_URL_<SERVICE> variables. Shared by the e2e CLI harness
 * (test/e2e/cli-harness.ts) and the sandbox (test/simulators/sandbox.ts).
 */
import { randomBytes } from 'node:crypto';
import { CreateBucketCommand, PutBucketVersioningCommand, type S3Client } from '@aws-sdk/client-s3';
import { parseConfig, type BotVaultConfig } from '../../lib/config/config';
import { STACK_OUTPUTS } from '../../lib/core/names';
import { startCfnSimulator, type CfnSimulator } from './cfn-simulator';
import { type KmsSimulator, startKmsForHandlers } from './kms-simulator';
import { S3RVER_CREDENTIALS, s3ClientFor, startS3Server } from './s3-server';
import { startSfnSimulator, type SfnSimulator } from './sfn-simulator';
import { type SnsSimulator, startSnsSimulator } from './sns-simulator';
import { type StsSimulator, startStsSimulator } from './sts-simulator';
import { swiftS3FromEnv } from './swift';

/** The stack's services, by the suffix of their AWS_ENDPOINT_URL_<SERVICE> variable. */
export type StackService = 'S3' | 'KMS' | 'STS' | 'SNS' | 'SFN' | 'CLOUDFORMATION';

interface SimulatedStackOptions {
  /** The config as the file holds it (parsed here; its stackName names the CloudFormation stack). */
  readonly rawConfig: Record<string, unknown>;
  /** `swift`: the versioned server named by BOTVAULT_SWIFT_S3_* (scripts/swift-s3.sh); `s3rver`: in-process, unversioned. */
  readonly s3: 's3rver' | 'swift';
  /** A port per service (s3rver only for S3; Swift has its own). @default any free port each */
  readonly ports?: Partial<Record<StackService, number>>;
  /** @default `botvault-<random>` */
  readonly bucket?: string;
  /** Start SNS with the alarm topic, and let Summarize publish the run's change notification to it. @default false */
  readonly notifications?: boolean;
  /** Access key ids the Step Functions simulator accepts. @default the S3 server's own key only */
  readonly accessKeyIds?: readonly string[];
}

export interface SimulatedStack {
  readonly config: BotVaultConfig;
  readonly bucket: string;
  /** Whether the archive bucket keeps old versions (Swift) or not (s3rver). */
  readonly versioned: boolean;
  /** A client for the archive bucket. */
  readonly s3: S3Client;
  /** The credentials every client uses: the S3 server's (test values; the other simulators check only that a request is signed). */
  readonly credentials: { readonly accessKeyId: string; readonly secretAccessKey: string };
  readonly sfn: SfnSimulator;
  readonly cfn: CfnSimulator;
  readonly sts: StsSimulator;
  readonly kms: KmsSimulator;
  readonly macKeyArn: string;
  readonly sns?: SnsSimulator;
  /** AWS_ENDPOINT_URL_<SERVICE> → URL for each of the stack's services. */
  readonly endpoints: Readonly<Partial<Record<`AWS_ENDPOINT_URL_${StackService}`, string>>>;
  /** Stops what was started here, once every running execution has finished. */
  close(): Promise<void>;
}

export async function startSimulatedStack(opts: SimulatedStackOptions): Promise<SimulatedStack> {
  const ports = opts.ports ?? {};
  const config = parseConfig(opts.rawConfig);
  const closers: (() => Promise<void>)[] = [];
  const close = async () => {
    // Newest first: the Step Functions simulator waits for its executions, which still write to S3.
    for (const c of closers.splice(0).reverse()) await c();
  };
  try {
    const swift = opts.s3 === 'swift' ? swiftS3FromEnv() : undefined;
    const local = swift ? undefined : await startS3Server({ port: ports.S3 });
    if (local) closers.push(() => local.close());
    const endpoint = swift?.endpoint ?? local!.endpoint;
    const credentials = swift
      ? { accessKeyId: process.env.BOTVAULT_SWIFT_S3_ACCESS_KEY!, secretAccessKey: process.env.BOTVAULT_SWIFT_S3_SECRET_KEY! }
      : S3RVER_CREDENTIALS;
    const s3 = swift?.client ?? s3ClientFor(endpoint);
    closers.push(async () => s3.destroy());
    const sts = await startStsSimulator({ port: ports.STS });
    closers.push(() => sts.close());
    const mac = await startKmsForHandlers({ port: ports.KMS });
    closers.push(() => mac.close());
    const sns = opts.notifications ? await startSnsSimulator({ port: ports.SNS }) : undefined;
    if (sns) {
      closers.push(() => sns.close());
      closers.push(async () => {
        if (process.env.BOTVAULT_CHANGE_TOPIC_ARN === sns.topicArn) delete process.env.BOTVAULT_CHANGE_TOPIC_ARN;
      });
    }

    // The handlers run in this process (inside the Step Functions simulator): point their clients here.
    process.env.AWS_ENDPOINT_URL_S3 = endpoint;
    process.env.AWS_REGION = 'us-east-1';
    process.env.AWS_ACCESS_KEY_ID = credentials.accessKeyId;
    process.env.AWS_SECRET_ACCESS_KEY = credentials.secretAccessKey;
    if (sns) {
      process.env.AWS_ENDPOINT_URL_SNS = sns.url;
      process.env.BOTVAULT_CHANGE_TOPIC_ARN = sns.topicArn;
    }
    // The config's downloadAllowlist is the whole allowlist, as in the deployed stack.
    delete process.env.BOTVAULT_DOWNLOAD_ALLOWLIST;

    const bucket = opts.bucket ?? `botvault-${randomBytes(5).toString('hex')}`;
    await s3.send(new CreateBucketCommand({ Bucket: bucket }));
    if (swift) await s3.send(new PutBucketVersioningCommand({ Bucket: bucket, VersioningConfiguration: { Status: 'Enabled' } }));

    // Only the given keys are accepted: a call signed with anything else is refused as AWS would.
    const sfn = await startSfnSimulator({
      config,
      bucket,
      fast: true,
      accessKeyIds: opts.accessKeyIds ?? [credentials.accessKeyId],
      port: ports.SFN,
    });
    closers.push(() => sfn.close());
    const cfn = await startCfnSimulator({
      stacks: {
        [config.stackName]: {
          outputs: {
            [STACK_OUTPUTS.bucket]: bucket,
            [STACK_OUTPUTS.stateMachine]: sfn.stateMachineArn,
            [STACK_OUTPUTS.macKey]: mac.macKeyArn,
            // The deployed stack's ready-to-paste manual run (lib/botvault-stack.ts), its region resolved.
            [STACK_OUTPUTS.startCommand]: `aws stepfunctions start-execution --region us-east-1 --state-machine-arn ${sfn.stateMachineArn} --input '{"trigger":"manual"}'`,
          },
        },
      },
      port: ports.CLOUDFORMATION,
    });
    closers.push(() => cfn.close());

    return {
      config,
      bucket,
      versioned: Boolean(swift),
      s3,
      credentials,
      sfn,
      cfn,
      sts,
      kms: mac.kms,
      macKeyArn: mac.macKeyArn,
      ...(sns ? { sns } : {}),
      endpoints: {
        AWS_ENDPOINT_URL_S3: endpoint,
        AWS_ENDPOINT_URL_KMS: mac.kms.url,
        AWS_ENDPOINT_URL_STS: sts.url,
        ...(sns ? { AWS_ENDPOINT_URL_SNS: sns.url } : {}),
        AWS_ENDPOINT_URL_SFN: sfn.url,
        AWS_ENDPOINT_URL_CLOUDFORMATION: cfn.url,
      },
      close,
    };
  } catch (err) {
    await close();
    throw err;
  }
}
