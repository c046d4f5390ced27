/**
 * Kore.ai needs no AWS API but its credentials: every Lambda that calls the
 * Bot Export API (start, status checks, the fresh status before a download)
 * reads exactly the configured `credentialsSecret`s, nothing else.
 */
import { type ProviderGrants, unique } from '../grant-context';
import type { KoreaiTarget } from './target';

export const koreaiGrants: ProviderGrants<KoreaiTarget> = {
  // The credentials open no archive: Kore.ai exports are not encrypted.
  grant: (targets, ctx) => {
    const secrets = unique(targets.map((t) => t.credentialsSecret)).map((s) => ctx.secretArn(s));
    for (const fn of ['startExport', 'checkExport', 'storeArchive'] as const) ctx.allow(fn, ['secretsmanager:GetSecretValue'], secrets);
  },
};
