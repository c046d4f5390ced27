/**
 * Finds what a command talks to: the archive bucket, the state machine and
 * the HMAC key that authenticates what the bucket holds.
 *
 * `--bucket` and `--state-machine` name them directly; otherwise they are the
 * deployed stack's outputs `ArchiveBucketName` and `StateMachineArn`, found
 * with CloudFormation DescribeStacks. The stack is `--stack`, else the
 * config's `stackName` (default "BotVault"), so an operator in the repository
 * types no names at all.
 */
import { existsSync } from 'node:fs';
import { DescribeStacksCommand } from '@aws-sdk/client-cloudformation';
import { ConfigError, DEFAULT_CONFIG_FILE, loadConfig, type BotVaultConfig } from '../config/config';
import { DEFAULT_STACK_NAME, STACK_OUTPUTS } from '../core/names';
import { aws, cfnClient, type AwsOptions } from './aws';
import { CliError } from './output';

/** Stack output names (lib/core/names.ts: the stack emits exactly these). */
export const OUTPUTS = STACK_OUTPUTS;

export interface LocateOptions extends AwsOptions {
  /** Config file; undefined means `botvault.config.json` if it exists. */
  readonly config?: string;
  readonly stack?: string;
  readonly bucket?: string;
  readonly stateMachine?: string;
  /** The HMAC key whose MACs are verified, instead of the stack's AuthenticationKeyArn output (or BOTVAULT_MAC_KEY_ID). */
  readonly macKey?: string;
}

export interface Located {
  /** The stack the outputs came from, when DescribeStacks was needed. */
  readonly stackName?: string;
  readonly bucket?: string;
  readonly stateMachineArn?: string;
  /** The HMAC key to verify MACs with, when one is known. */
  readonly macKeyArn?: string;
}

/**
 * Loads the config, as one CliError when it is bad. Returns undefined when no
 * `--config` was given and the default file does not exist: commands that
 * only need the stack name then use the default one.
 */
export function readConfig(file: string | undefined, required = false): BotVaultConfig | undefined {
  if (file === undefined && !existsSync(DEFAULT_CONFIG_FILE)) {
    if (!required) return undefined;
    throw new CliError(`no config file: ${DEFAULT_CONFIG_FILE} does not exist here; pass --config PATH`);
  }
  try {
    return loadConfig(file ?? DEFAULT_CONFIG_FILE);
  } catch (err) {
    // The config error is several lines (one per bad field); keep them, they are the fix.
    if (err instanceof ConfigError) throw new CliError(err.message);
    throw err;
  }
}

/**
 * Returns the bucket, state machine ARN and/or MAC key the caller needs,
 * asking CloudFormation only for what was not given on the command line.
 * `macKey: 'optional'` takes the key when the stack outputs are read anyway
 * (with `--accept-unverified`, a missing key means UNVERIFIED, not an error).
 */
export async function locate(
  opts: LocateOptions,
  need: { bucket?: boolean; stateMachine?: boolean; macKey?: 'required' | 'optional' },
  config?: BotVaultConfig,
): Promise<Located> {
  const macKey = opts.macKey ?? (process.env.BOTVAULT_MAC_KEY_ID || undefined);
  const missing = (need.bucket && !opts.bucket) || (need.stateMachine && !opts.stateMachine) || (need.macKey === 'required' && !macKey);
  if (!missing) return { bucket: opts.bucket, stateMachineArn: opts.stateMachine, ...(macKey ? { macKeyArn: macKey } : {}) };

  const stackName = opts.stack ?? (config ?? readConfig(opts.config))?.stackName ?? DEFAULT_STACK_NAME;
  const outputs = await stackOutputs(stackName, opts);
  const pick = (name: string, flag: string) => {
    const value = outputs[name];
    if (!value) {
      throw new CliError(
        `stack "${stackName}" has no output ${name}: redeploy it with \`npx cdk deploy\` (BotVault stacks export it), or pass ${flag}`,
      );
    }
    return value;
  };
  return {
    stackName,
    bucket: opts.bucket ?? (need.bucket ? pick(OUTPUTS.bucket, '--bucket NAME') : outputs[OUTPUTS.bucket]),
    stateMachineArn: opts.stateMachine ?? (need.stateMachine ? pick(OUTPUTS.stateMachine, '--state-machine ARN') : outputs[OUTPUTS.stateMachine]),
    macKeyArn: macKey ?? (need.macKey === 'required' ? pick(OUTPUTS.macKey, '--mac-key ARN') : outputs[OUTPUTS.macKey]),
  };
}

/** Output key → value of a deployed stack; an unknown stack is a CliError that says what to do. */
export async function stackOutputs(stackName: string, o: AwsOptions = {}): Promise<Record<string, string>> {
  const cfn = cfnClient(o);
  try {
    const res = await aws(`DescribeStacks ${stackName}`, async () => {
      try {
        return await cfn.send(new DescribeStacksCommand({ StackName: stackName }));
      } catch (err) {
        // CloudFormation reports an unknown stack as a ValidationError "Stack with id X does not exist".
        if ((err as Error).name === 'ValidationError' && /does not exist/i.test((err as Error).message)) {
          const region = await cfn.config.region().catch(() => undefined);
          throw new CliError(
            `stack "${stackName}" not found${region ? ` in ${region}` : ''}: deploy it with \`npx cdk deploy\`, pass --stack NAME (or --config with its stackName), or name the resources with --bucket / --state-machine`,
          );
        }
        throw err;
      }
    });
    const stack = res.Stacks?.[0];
    if (!stack) throw new CliError(`stack "${stackName}" not found: deploy it with \`npx cdk deploy\` or pass --stack NAME`);
    return Object.fromEntries(
      (stack.Outputs ?? []).filter((out) => out.OutputKey && out.OutputValue).map((out) => [out.OutputKey!, out.OutputValue!]),
    );
  } finally {
    cfn.destroy();
  }
}
