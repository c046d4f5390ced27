/**
 * Kore.ai needs no AWS API but its credentials: every Lambda that calls the
 * Bot Export API (start, status checks, the fresh status before a download)
 * reads exactly the secrets the exports are made with, and Plan reads the
 * admin apps' secrets only when a target discovers bots (Get Bots), nothing
 * else.
 */
import { type ProviderGrants, unique } from '../grant-context';
import { exportCredentials, type KoreaiTarget } from './target';

export const koreaiGrants: ProviderGrants<KoreaiTarget> = {
  // The credentials open no archive: Kore.ai exports are not encrypted.
  grant: (targets, ctx) => {
    const secrets = unique(targets.map(exportCredentials)).map((s) => ctx.secretArn(s));
    for (const fn of ['startExport', 'checkExport', 'storeArchive'] as const) ctx.allow(fn, ['secretsmanager:GetSecretValue'], secrets);
    // Discovery lists the bots in Plan with the Admin Console app; nothing is granted without a discovery target.
    const admin = unique(targets.flatMap((t) => (t.discover && t.adminCredentialsSecret ? [t.adminCredentialsSecret] : [])));
    ctx.allow(
      'plan',
      ['secretsmanager:GetSecretValue'],
      admin.map((s) => ctx.secretArn(s)),
    );
  },
};
