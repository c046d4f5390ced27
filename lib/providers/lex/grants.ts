/**
 * The IAM each Lambda needs for Lex targets, scoped to the bots and test sets
 * the config names (every bot only when a target discovers them). Verified
 * against the Service Authorization Reference for Amazon Lex V2:
 * - ListBots has no resource type: it needs `*`.
 * - ListBotVersions, ListBotLocales: `bot`.
 * - CreateExport, DescribeExport, DeleteExport: `bot` or `test set`
 *   (`bot/<botId>` and `test-set/<testSetId>`).
 * Targets in a member account get sts:AssumeRole on that account's role only
 * (Service Authorization Reference for AWS STS: AssumeRole takes the `role`
 * resource type).
 */
import { type Account, accountNamed, HOME_ACCOUNT } from '../../core/accounts';
import { type GrantContext, type ProviderGrants, type ResourceArn, unique } from '../grant-context';
import type { LexTarget } from './target';

/**
 * What the DescribeExport API operation is authorized against, per the
 * Service Authorization Reference for Amazon Lex V2 ("API operations defined
 * by Amazon Lex V2": DescribeExport maps to lex:DescribeExport plus these
 * read/list actions on the exported resource). All of them are reads of the
 * very bot whose full definition the export hands us anyway.
 */
export const LEX_DESCRIBE_EXPORT_BOT_ACTIONS = [
  'lex:DescribeBot',
  'lex:DescribeBotLocale',
  'lex:DescribeCustomVocabulary',
  'lex:DescribeIntent',
  'lex:DescribeSlot',
  'lex:DescribeSlotType',
  'lex:ListBotLocales',
  'lex:ListIntents',
  'lex:ListSlotTypes',
  'lex:ListSlots',
] as const;

type Region = string | undefined;
const at = (region: Region) => (region ? { region } : {});
const bot = (botId: string, region: Region): ResourceArn => ({ service: 'lex', resource: 'bot', name: botId, sep: '/', ...at(region) });
const testSet = (testSetId: string, region: Region): ResourceArn => ({
  service: 'lex',
  resource: 'test-set',
  name: testSetId,
  sep: '/',
  ...at(region),
});
const botAliases = (botId: string, region: Region): ResourceArn => ({
  service: 'lex',
  resource: 'bot-alias',
  name: botId === '*' ? '*' : `${botId}/*`,
  sep: '/',
  ...at(region),
});

/** The functions that call Lex for a job (Plan only for discovery). */
const JOB_FUNCTIONS = ['startExport', 'checkExport', 'storeArchive', 'cleanup'] as const;

/** The password secrets of password-protected exports: read by StartExport, StoreArchive and the restore drill. */
const passwordSecrets = (targets: readonly LexTarget[]) => unique(targets.flatMap((t) => (t.passwordSecret ? [t.passwordSecret] : [])));

/**
 * Where each target's jobs go: its member accounts' roles (by whether the target discovers), and the
 * regions of the stack's own account it covers (undefined: the stack's region).
 */
function placesOf(targets: readonly LexTarget[], accounts: readonly Account[]) {
  const discoveryRoles = new Set<string>();
  const roles = new Set<string>();
  const homeRegions = new Map<Region, LexTarget[]>();
  for (const t of targets) {
    const refs = t.discover ? (t.accounts ?? [HOME_ACCOUNT]) : [t.account ?? HOME_ACCOUNT];
    for (const ref of refs) {
      const member = accountNamed(ref, accounts);
      if (member) {
        roles.add(member.roleArn);
        if (t.discover) discoveryRoles.add(member.roleArn);
        continue;
      }
      for (const region of t.discover ? (t.regions ?? [undefined]) : [t.region]) {
        const list = homeRegions.get(region) ?? [];
        if (!list.includes(t)) list.push(t);
        homeRegions.set(region, list);
      }
    }
  }
  return { discoveryRoles: unique([...discoveryRoles]), roles: unique([...roles]), homeRegions };
}

const grant: ProviderGrants<LexTarget>['grant'] = (targets, ctx) => {
  const { discoveryRoles, roles, homeRegions } = placesOf(targets, ctx.accounts);
  // Member accounts: the functions may assume exactly the configured roles; what they may do there is
  // the member role's policy (lib/constructs/member-account-role.ts), not this account's.
  ctx.allow('plan', ['sts:AssumeRole'], discoveryRoles);
  for (const fn of JOB_FUNCTIONS) ctx.allow(fn, ['sts:AssumeRole'], roles);

  for (const [region, own] of homeRegions) grantHomeRegion(own, region, ctx);

  // The export password is read where it is used: StartExport passes it to CreateExport, StoreArchive
  // decrypts the download with it (checks and content hash of the plaintext). It never travels further.
  const secrets = passwordSecrets(targets).map((s) => ctx.secretArn(s));
  ctx.allow('startExport', ['secretsmanager:GetSecretValue'], secrets);
  ctx.allow('storeArchive', ['secretsmanager:GetSecretValue'], secrets);
};

/** Lex in one region of the stack's own account, for the targets there. */
function grantHomeRegion(targets: readonly LexTarget[], region: Region, ctx: GrantContext): void {
  const discover = targets.some((t) => t.discover === true);
  const botIds = unique(targets.flatMap((t) => (t.botId ? [t.botId] : [])));
  const testSetIds = unique(targets.flatMap((t) => (t.testSetId ? [t.testSetId] : [])));
  // Discovery may export any bot, so `bot/*` replaces the individual bots.
  const bots = discover ? [ctx.arn(bot('*', region))] : botIds.map((id) => ctx.arn(bot(id, region)));
  const testSets = testSetIds.map((id) => ctx.arn(testSet(id, region)));
  const exportResources = [...bots, ...testSets];

  if (discover) {
    ctx.allow('plan', ['lex:ListBots'], ['*']);
    ctx.allow('plan', ['lex:ListBotVersions', 'lex:ListBotLocales'], [ctx.arn(bot('*', region))]);
    for (const fn of ['plan', ...JOB_FUNCTIONS] as const) {
      ctx.acknowledgeWildcard(
        fn,
        bot('*', region),
        'A target has "discover": true: the bots to back up are found at run time, so any bot in this account and region.',
      );
    }
    ctx.acknowledgeWildcard('plan', '*', 'lex:ListBots supports no resource-level permissions (Service Authorization Reference); X-Ray likewise.');
  }

  ctx.allow('startExport', ['lex:CreateExport'], exportResources);

  // CheckExport polls the status; StoreArchive asks for a fresh download URL right before downloading.
  for (const fn of ['checkExport', 'storeArchive'] as const) {
    ctx.allow(fn, ['lex:DescribeExport'], exportResources);
    ctx.allow(fn, LEX_DESCRIBE_EXPORT_BOT_ACTIONS, bots);
    ctx.allow(fn, ['lex:DescribeTestSet'], testSets);
  }

  // The restore sidecar: StoreArchive records what the export leaves out. DescribeBot is among the
  // reads above; ListBotAliases and ListTagsForResource take `bot`, DescribeBotAlias takes `bot alias`
  // (`bot-alias/<botId>/<botAliasId>`: any alias of the bot, so a wildcard per bot).
  ctx.allow('storeArchive', ['lex:ListBotAliases', 'lex:ListTagsForResource'], bots);
  const aliasBots = discover ? ['*'] : botIds;
  ctx.allow(
    'storeArchive',
    ['lex:DescribeBotAlias'],
    aliasBots.map((id) => ctx.arn(botAliases(id, region))),
  );
  for (const id of aliasBots) {
    ctx.acknowledgeWildcard(
      'storeArchive',
      botAliases(id, region),
      'The restore sidecar records every alias of the bot (DescribeBotAlias); aliases are created at any time, so all aliases of this bot.',
    );
  }

  ctx.allow('cleanup', ['lex:DeleteExport'], exportResources);
}

export const lexGrants: ProviderGrants<LexTarget> = { grant, archiveSecrets: passwordSecrets };
