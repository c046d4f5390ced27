/**
 * The CDK entry (`cdk.json`: `npx tsx bin/app.ts`). Reads the config named by
 * `-c config=PATH` (default `botvault.config.json`), validates it, and builds
 * the stack. A bad config stops synth with its one message, no stack trace.
 */
import { App } from 'aws-cdk-lib';
import { buildApp } from '../lib/app';
import { ConfigError, DEFAULT_CONFIG_FILE, loadConfig, type BotVaultConfig } from '../lib/config/config';

/** `-c config=PATH`. Context is only readable through an App; this one never synthesizes. */
function configFile(): string {
  const value: unknown = new App({ autoSynth: false }).node.tryGetContext('config');
  if (value === undefined) return DEFAULT_CONFIG_FILE;
  if (typeof value !== 'string' || value.trim() === '') {
    throw new ConfigError(`-c config=PATH must name a config file (got ${JSON.stringify(value)}).`);
  }
  return value;
}

let config: BotVaultConfig;
try {
  config = loadConfig(configFile());
} catch (err) {
  if (err instanceof ConfigError) {
    process.stderr.write(`${err.message}\n`);
    process.exit(1);
  }
  throw err;
}

const { app } = buildApp(config, undefined, {
  account: process.env.CDK_DEFAULT_ACCOUNT,
  region: process.env.CDK_DEFAULT_REGION,
});
app.synth();
