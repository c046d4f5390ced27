/**
 * The credential chain BotVault's Lambda bundles use instead of the SDK's
 * default one (`@aws-sdk/credential-provider-node`): esbuild aliases that
 * package to this module (BackupFunction's bundling).
 *
 * Why: Lambda always hands the execution role's credentials to the function
 * as AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY / AWS_SESSION_TOKEN, so the
 * rest of the default chain (SSO, ini files, process, web identity, ECS,
 * IMDS, and the STS/SSO clients they carry) can never answer there. Leaving
 * it out takes ~100 kB off every bundle and its cold start (README
 * "Performance"). Code run outside a bundle (tests, `botvault local`, the CLI)
 * keeps the full default chain.
 */
import { fromEnv, type FromEnvInit } from '@aws-sdk/credential-provider-env';

/** Same name and shape as `@aws-sdk/credential-provider-node`'s export, which the SDK clients import. */
export const defaultProvider = (init: FromEnvInit = {}): ReturnType<typeof fromEnv> => fromEnv(init);
