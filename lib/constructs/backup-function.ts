/**
 * The one place for BotVault's Lambda defaults (DESIGN §6): every Lambda is a
 * BackupFunction, so runtime, architecture, logging, tracing and bundling are
 * decided here once.
 */
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { AssetHashType, DockerImage, Duration, type ILocalBundling, RemovalPolicy, Size, Validations } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as kms from 'aws-cdk-lib/aws-kms';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as nodejs from 'aws-cdk-lib/aws-lambda-nodejs';
import * as logs from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';
import { METRICS_NAMESPACE, SERVICE_NAME } from '../core/names';
import { PROJECT_ROOT } from '../project-root';

export { PROJECT_ROOT };

/**
 * Environment every BotVault Lambda gets. The caller's environment is merged
 * in, but may not change these: they are what makes logs and metrics look
 * the same in every function.
 *
 * No `NODE_OPTIONS=--enable-source-maps`: Node then decodes the whole source
 * map at load, which cost ~50 ms of every cold start (README "Performance").
 * Errors are named and say what went wrong without a stack; the map still
 * ships beside index.js for turning a minified stack into source lines.
 */
export const DEFAULT_ENVIRONMENT: Readonly<Record<string, string>> = {
  POWERTOOLS_SERVICE_NAME: SERVICE_NAME,
  POWERTOOLS_METRICS_NAMESPACE: METRICS_NAMESPACE,
};

/** The script that bundles one Lambda (esbuild options and plugins live there). */
const BUNDLE_SCRIPT = join(PROJECT_ROOT, 'lib', 'bundling', 'bundle-lambda.ts');

const NAME = /^[a-z][a-z0-9-]*$/;

export interface BackupFunctionProps {
  /**
   * The Lambda's folder under `lambdas/`; its entry is `lambdas/<name>/handler.ts`,
   * exporting `handler`. For example `store-archive`.
   */
  readonly name: string;
  /**
   * Description shown in the Lambda console.
   * @default `BotVault <name>`
   */
  readonly description?: string;
  /**
   * Memory in MB (CPU scales with it).
   * @default 256
   */
  readonly memorySize?: number;
  /**
   * Ephemeral storage (`/tmp`) in MiB, from 512 to 10240.
   * @default 512 (Lambda's own default)
   */
  readonly ephemeralStorageMiB?: number;
  /**
   * How long one invocation may run.
   * @default Duration.seconds(60)
   */
  readonly timeout?: Duration;
  /**
   * Concurrent executions reserved for the function (and the most it may run at once).
   * @default - none reserved: the account's unreserved concurrency
   */
  readonly reservedConcurrentExecutions?: number;
  /**
   * How long the function's log group keeps logs.
   * @default logs.RetentionDays.THREE_MONTHS
   */
  readonly logRetention?: logs.RetentionDays;
  /**
   * Customer managed key for the function's log group; its key policy must let
   * CloudWatch Logs use it (EncryptionKey does).
   * @default - CloudWatch Logs' own encryption
   */
  readonly logEncryptionKey?: kms.IKey;
  /**
   * Extra environment variables, merged with BotVault's defaults
   * (`POWERTOOLS_SERVICE_NAME`, `POWERTOOLS_METRICS_NAMESPACE`),
   * which they may not change.
   * @default - the defaults only
   */
  readonly environment?: Record<string, string>;
}

/**
 * A Node.js Lambda bundled locally with esbuild: newest Node runtime, arm64,
 * X-Ray tracing, its own log group with a retention, minified CommonJS with
 * source maps, and every dependency (the AWS SDK included) bundled so the
 * versions in package-lock.json are the versions that run.
 */
export class BackupFunction extends Construct {
  /** The Lambda function. */
  public readonly function: nodejs.NodejsFunction;
  /** Its log group (deleted with the stack: logs are not backups). */
  public readonly logGroup: logs.LogGroup;
  /** Its execution role: may write to its own log group and send traces, nothing else until granted. */
  public readonly role: iam.Role;

  constructor(scope: Construct, id: string, props: BackupFunctionProps) {
    super(scope, id);
    if (!NAME.test(props.name)) {
      throw new Error(
        `BackupFunction: name "${props.name}" must be a folder name under lambdas/ such as "store-archive" (lower-case letters, digits, hyphens).`,
      );
    }
    const entry = join(PROJECT_ROOT, 'lambdas', props.name, 'handler.ts');
    if (!existsSync(entry)) {
      throw new Error(`BackupFunction: no handler for "${props.name}": expected ${entry} exporting "handler".`);
    }
    const memorySize = props.memorySize ?? 256;
    if (!Number.isInteger(memorySize) || memorySize < 128 || memorySize > 10_240) {
      throw new Error(`BackupFunction "${props.name}": memorySize must be a whole number of MB from 128 to 10240 (got ${memorySize}).`);
    }
    const storage = props.ephemeralStorageMiB;
    if (storage !== undefined && (!Number.isInteger(storage) || storage < 512 || storage > 10_240)) {
      throw new Error(`BackupFunction "${props.name}": ephemeralStorageMiB must be a whole number of MiB from 512 to 10240 (got ${storage}).`);
    }
    const timeout = props.timeout ?? Duration.seconds(60);
    if (!timeout.isUnresolved() && (timeout.toSeconds() < 1 || timeout.toSeconds() > 900)) {
      throw new Error(
        `BackupFunction "${props.name}": timeout must be from 1 second to 15 minutes, the Lambda limit (got ${timeout.toHumanString()}).`,
      );
    }
    const environment = mergeEnvironment(props.name, props.environment ?? {});

    this.logGroup = new logs.LogGroup(this, 'LogGroup', {
      retention: props.logRetention ?? logs.RetentionDays.THREE_MONTHS,
      encryptionKey: props.logEncryptionKey,
      removalPolicy: RemovalPolicy.DESTROY,
    });

    // An own role instead of AWSLambdaBasicExecutionRole (logs:CreateLogGroup and writes to every log group):
    // this function writes to its own log group only.
    this.role = new iam.Role(this, 'Role', {
      assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com'),
      description: `BotVault ${props.name} Lambda`,
    });
    this.logGroup.grantWrite(this.role);
    Validations.of(this.role).acknowledge({
      id: 'AwsSolutions::AwsSolutions-IAM5[Resource::*]',
      reason: 'X-Ray tracing: xray:PutTraceSegments and xray:PutTelemetryRecords support no resource-level permissions.',
    });

    this.function = new nodejs.NodejsFunction(this, 'Function', {
      role: this.role,
      description: props.description ?? `BotVault ${props.name}`,
      // The newest Node.js runtime this aws-cdk-lib knows; bump with aws-cdk-lib.
      runtime: lambda.Runtime.NODEJS_24_X,
      // Graviton: cheaper per GB-second, and nothing here is x86-specific.
      architecture: lambda.Architecture.ARM_64,
      memorySize,
      ...(props.ephemeralStorageMiB !== undefined ? { ephemeralStorageSize: Size.mebibytes(props.ephemeralStorageMiB) } : {}),
      timeout,
      ...(props.reservedConcurrentExecutions !== undefined ? { reservedConcurrentExecutions: props.reservedConcurrentExecutions } : {}),
      logGroup: this.logGroup,
      tracing: lambda.Tracing.ACTIVE,
      environment,
      code: bundledCode(props.name, entry),
      handler: 'index.handler',
    });
  }
}

/**
 * The Lambda's code: `entry` bundled by lib/bundling/bundle-lambda.ts on this
 * machine (no Docker), every dependency included so the versions in
 * package-lock.json are the versions that run. Not NodejsFunction's own
 * bundling: that drives the esbuild CLI, which takes no plugins, and the
 * bundles need one (lib/bundling/sdk-schema-keys.ts; README "Performance").
 */
function bundledCode(name: string, entry: string): lambda.Code {
  return lambda.Code.fromAsset(join(PROJECT_ROOT, 'lambdas'), {
    // Hash the bundle, not the source folder: the bundle also depends on node_modules.
    assetHashType: AssetHashType.OUTPUT,
    bundling: {
      // Required by the type, never pulled: local bundling below either succeeds or stops synth.
      image: DockerImage.fromRegistry('public.ecr.aws/docker/library/node:24'),
      local: new LocalBundling(name, entry),
    },
  });
}

/**
 * Runs the bundle script. A class with the entry as a field, not an object
 * literal: CDK caches staged assets by their bundling options, and a bare
 * function would make every Lambda's options look alike.
 */
class LocalBundling implements ILocalBundling {
  constructor(
    readonly name: string,
    readonly entry: string,
  ) {}

  tryBundle(outputDir: string): boolean {
    try {
      execFileSync(process.execPath, ['--import', 'tsx', BUNDLE_SCRIPT, this.entry, outputDir], {
        cwd: PROJECT_ROOT,
        stdio: ['ignore', 'inherit', 'inherit'],
      });
    } catch {
      throw new Error(`BackupFunction "${this.name}": bundling ${this.entry} failed; esbuild's messages are printed above.`);
    }
    return true;
  }
}

function mergeEnvironment(name: string, extra: Record<string, string>): Record<string, string> {
  for (const [key, value] of Object.entries(extra)) {
    const fixed = DEFAULT_ENVIRONMENT[key];
    if (fixed !== undefined && fixed !== value) {
      throw new Error(
        `BackupFunction "${name}": environment variable ${key} is set by BackupFunction for every Lambda ("${fixed}") and cannot be changed to "${value}"; remove it from the environment prop.`,
      );
    }
  }
  return { ...extra, ...DEFAULT_ENVIRONMENT };
}
