/** `botvault local`: run the synthesized workflow in-process against whatever endpoints the environment names. */
import { type BotVaultConfig, ConfigError, loadConfig } from '../config/config';
import { CliError, formatJobLines, readableCause } from './output';
import { checkOnly, unverifiedWarning } from './targets';

export interface LocalCommandOptions {
  config: string;
  bucket: string;
  fast: boolean;
  only?: string[];
  json: boolean;
  runId?: string;
  macKey?: string;
}

/** Returns the exit code: 0 when every job succeeded, 1 otherwise. */
export async function runLocalCommand(opts: LocalCommandOptions): Promise<number> {
  let config: BotVaultConfig;
  try {
    config = loadConfig(opts.config);
  } catch (err) {
    if (err instanceof ConfigError) throw new CliError(err.message);
    throw err;
  }
  if (opts.only) {
    // The same check as `run --only` (lib/cli/targets.ts): a typo stops here, nothing runs.
    const warning = unverifiedWarning(checkOnly(opts.only, config, process.env.AWS_REGION ?? 'us-east-1').unverified);
    if (warning) process.stderr.write(`botvault: warning: ${warning}\n`);
  }
  // Loaded on demand: it pulls in aws-cdk-lib, which `botvault --help` does not need.
  const { runLocal } = await import('../local/runner');
  const result = await runLocal({
    config,
    bucket: opts.bucket,
    fast: opts.fast,
    // Under --fast the waits are milliseconds: a job's deadline is the time that really passed.
    ...(opts.fast ? { deadline: 'elapsed' as const } : {}),
    runId: opts.runId,
    ...(opts.macKey ? { macKeyId: opts.macKey } : {}),
    input: { trigger: 'manual', ...(opts.only ? { only: opts.only } : {}) },
  });
  if (!result.manifest) {
    // Failed before any job ran (bad input, unreachable provider during discovery, ...).
    throw new CliError(`run ${result.runId} failed before backing anything up: ${result.error}: ${readableCause(result.cause)}`);
  }
  if (opts.json) {
    process.stdout.write(`${JSON.stringify(result.manifest, null, 2)}\n`);
  } else {
    for (const line of formatJobLines(result.manifest.results)) process.stdout.write(`${line}\n`);
    const c = result.manifest.counts;
    process.stdout.write(
      `run ${result.runId}: ${c.succeeded} stored, ${c.unchanged} unchanged, ${c.failed} failed of ${c.total}; manifest s3://${opts.bucket}/${result.manifestKey}\n`,
    );
  }
  return result.status === 'SUCCEEDED' ? 0 : 1;
}
