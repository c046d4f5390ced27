/**
 * Lex V2's S3 key rules (DESIGN §3: one stable key per backed-up resource)
 * and job ids, used by Plan (lib/providers/lex/provider.ts), the CLI and the
 * bucket's prefix grants alike, so that none of them can drift:
 *
 *   lex/<account>/<region>/<botId>/<botVersion>/bot.zip
 *   lex/<account>/<region>/<botId>/<botVersion>/locales/<localeId>.zip
 *   lex/<account>/<region>/<botId>/<botVersion>/locales/<localeId>/custom-vocabulary.zip
 *   lex/<account>/<region>/test-sets/<testSetId>/test-set.zip
 *
 * Job ids: `lex:<botId>:<botVersion>[:<localeId>[:custom-vocabulary]]` and
 * `lex:test-set:<testSetId>` for the stack's own account and region (the ids
 * BotVault always had); elsewhere the same with the account and region in
 * front, `lex:<account>:<region>:<botId>:<botVersion>`, because one bot id
 * can exist in two regions (Lex Global Resiliency replicates a bot under its
 * own id) and, in principle, two accounts.
 *
 * Legacy keys: before account ids (issue 16) keys were `lex/<region>/…`, all
 * of the home account. They are never moved (a copy would lose their dates
 * and their MAC, which covers the key): a home job carries its legacy key,
 * StoreArchive compares a first export under the new key with the legacy
 * key's current version, and the CLI shows both keys' versions as one
 * history (README "Many accounts and regions").
 */
// zod/mini: bundled into the Lambdas (lib/core/schemas.ts says why).
import * as z from 'zod/mini';
import { type Home, isHome, type Location, REGION } from '../../core/accounts';
import type { Job } from '../../core/contracts';
import { InvalidInputError } from '../../core/errors';
import type { KeyInfo } from '../definition';
import type { LexTarget } from './target';

/** The first segment of every Lex archive key. */
export const LEX_ARCHIVE_PREFIX = 'lex/';

/** What a Lex job exports, normalized; identifiers only (a secret's name, never its value). */
export const lexSpecSchema = z.object({
  /** `discoveryFailed`: a discovery that could not list one account and region; StartExport fails it with `error`. */
  kind: z.enum(['bot', 'botLocale', 'customVocabulary', 'testSet', 'discoveryFailed']),
  botId: z.optional(z.string()),
  botVersion: z.optional(z.string()),
  localeId: z.optional(z.string()),
  testSetId: z.optional(z.string()),
  fileFormat: z.enum(['LexJson', 'TSV', 'CSV']),
  passwordSecret: z.optional(z.string()),
  /** Where the bot lives (absent in jobs planned before issue 16: the home account and region). */
  account: z.optional(z.string()),
  region: z.optional(z.string()),
  /** The member role that reaches `account`; absent at home. */
  roleArn: z.optional(z.string()),
  externalId: z.optional(z.string()),
  /** discoveryFailed only: the error, scrubbed. */
  error: z.optional(z.string()),
});
export type LexSpec = z.infer<typeof lexSpecSchema>;

/** A failed discovery's job: named by its account and region, also at home (`lex:<account>:<region>:discovery`). */
const DISCOVERY_ID = 'discovery';

/** The key and job id of a resource, below `lex/<account>/<region>/` and after the id's prefix. */
function resourcePath(spec: LexSpec): { path: string; id: string } {
  const { botId, botVersion, localeId, testSetId } = spec;
  switch (spec.kind) {
    case 'bot':
      return { id: `${botId}:${botVersion}`, path: `${botId}/${botVersion}/bot.zip` };
    case 'botLocale':
      return { id: `${botId}:${botVersion}:${localeId}`, path: `${botId}/${botVersion}/locales/${localeId}.zip` };
    case 'customVocabulary':
      return { id: `${botId}:${botVersion}:${localeId}:custom-vocabulary`, path: `${botId}/${botVersion}/locales/${localeId}/custom-vocabulary.zip` };
    case 'testSet':
      return { id: `test-set:${testSetId}`, path: `test-sets/${testSetId}/test-set.zip` };
    case 'discoveryFailed':
      // Never written: StartExport fails the job. Unique per account and region, like its id.
      return { id: DISCOVERY_ID, path: DISCOVERY_ID };
  }
}

/** The job id of a resource at `where`: short at home, account and region in front elsewhere. */
const jobId = (where: { account?: string; region: string }, id: string, home: Home) =>
  isHome(where, home) && id !== DISCOVERY_ID ? `lex:${id}` : `lex:${where.account ?? '?'}:${where.region}:${id}`;

/** The job id `spec` gets at `where` (an account of undefined: the home account, whose id may be unknown to the CLI). */
export const lexJobIdAt = (where: { account?: string; region: string }, spec: LexSpec, home: Home): string =>
  jobId(where, resourcePath(spec).id, home);

/** One job for `spec` at its account and region (the home account and region where the spec names none). */
export function lexJob(home: Home, spec: LexSpec, name?: string): Job {
  const account = spec.account ?? home.account;
  if (!account) throw new InvalidInputError('A Lex job needs its account: the home account id is not known (BOTVAULT_ACCOUNT_ID).');
  const region = spec.region ?? home.region;
  const { path, id } = resourcePath(spec);
  const where = { account, region };
  const cleanSpec = Object.fromEntries(Object.entries({ ...spec, account, region }).filter(([, v]) => v !== undefined));
  return {
    id: jobId(where, id, home),
    provider: 'lex',
    key: `lex/${account}/${region}/${path}`,
    // The key home-account archives had before account ids (stored only where the stack ran, in its region).
    ...(isHome(where, home) && spec.kind !== 'discoveryFailed' ? { legacyKey: `lex/${region}/${path}` } : {}),
    ...(name ? { name } : {}),
    spec: cleanSpec,
  };
}

/** A location's part of a spec. */
export const locationSpec = (where: Location): Pick<LexSpec, 'account' | 'region' | 'roleArn' | 'externalId'> => ({
  account: where.account,
  region: where.region,
  ...(where.roleArn ? { roleArn: where.roleArn } : {}),
  ...(where.externalId ? { externalId: where.externalId } : {}),
});

/** The normalized spec of a static (non-discovery) target. */
export function specForTarget(t: LexTarget, where?: Location): LexSpec {
  const password = {
    ...(t.passwordSecret ? { passwordSecret: t.passwordSecret } : {}),
    ...(where ? locationSpec(where) : {}),
  };
  if (t.testSetId) return { kind: 'testSet', testSetId: t.testSetId, fileFormat: 'CSV', ...password };
  if (!t.botId || !t.botVersion) throw new InvalidInputError('A Lex target needs botId and botVersion (or testSetId, or "discover": true).');
  const bot = { botId: t.botId, botVersion: t.botVersion };
  if (t.customVocabulary) return { kind: 'customVocabulary', ...bot, localeId: t.localeId, fileFormat: 'TSV', ...password };
  if (t.localeId) return { kind: 'botLocale', ...bot, localeId: t.localeId, fileFormat: 'LexJson', ...password };
  return { kind: 'bot', ...bot, fileFormat: 'LexJson', ...password };
}

/**
 * What a Lex archive key names; undefined for a key of no Lex shape. Keys of
 * both layouts parse: `lex/<account>/<region>/…` and the legacy
 * `lex/<region>/…` (home account; `legacy: true`). With `home` the ids are
 * Plan's; without it every id carries its account and region.
 */
export function parseLexKey(key: string, home?: Home): KeyInfo | undefined {
  const parts = key.split('/');
  if (parts[0] !== 'lex') return undefined;
  const qualified = /^\d{12}$/.test(parts[1] ?? '');
  const account = qualified ? parts[1] : home?.account;
  const region = qualified ? parts[2] : parts[1];
  if (!region || !REGION.test(region)) return undefined;
  const rest = parts.slice(qualified ? 3 : 2);
  const [a, b, c, d, e] = rest;
  const where = { region, ...(account ? { account } : {}), ...(qualified ? {} : { legacy: true as const }) };
  const id = (short: string) => (home ? jobId({ account, region }, short, home) : `lex:${account ?? '?'}:${region}:${short}`);
  if (a === 'test-sets' && b && c === 'test-set.zip' && rest.length === 3)
    return { key, provider: 'lex', id: id(`test-set:${b}`), testSetId: b, ...where };
  if (a && b && c === 'bot.zip' && rest.length === 3) return { key, provider: 'lex', id: id(`${a}:${b}`), botId: a, botVersion: b, ...where };
  if (a && b && c === 'locales' && d?.endsWith('.zip') && rest.length === 4) {
    const localeId = d.slice(0, -'.zip'.length);
    return { key, provider: 'lex', id: id(`${a}:${b}:${localeId}`), botId: a, botVersion: b, localeId, ...where };
  }
  if (a && b && c === 'locales' && d && e === 'custom-vocabulary.zip' && rest.length === 5) {
    return { key, provider: 'lex', id: id(`${a}:${b}:${d}:custom-vocabulary`), botId: a, botVersion: b, localeId: d, ...where };
  }
  return undefined;
}
