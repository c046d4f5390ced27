/**
 * Builds the BotVault CDK app from a validated config. Pure: no files, no
 * environment variables, so `bin/app.ts`, the tests and the local runner all
 * construct the very same app.
 */
import { App, type AppProps, type Environment } from 'aws-cdk-lib';
import { BotVaultStack } from './botvault-stack';
import type { BotVaultConfig } from './config/config';

export interface BuiltApp {
  readonly app: App;
  readonly stack: BotVaultStack;
}

/**
 * @param config a config from `loadConfig` / `parseConfig`
 * @param appProps e.g. `{ outdir, context }`; tests pass `context: { 'aws:cdk:bundling-stacks': [] }` to skip bundling
 * @param env account and region of the stack; env-agnostic when omitted
 */
export function buildApp(config: BotVaultConfig, appProps?: AppProps, env?: Environment): BuiltApp {
  const app = new App(appProps);
  const stack = new BotVaultStack(app, config.stackName, { config, ...(env ? { env } : {}) });
  return { app, stack };
}
