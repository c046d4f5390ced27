/**
 * The IAM each Lambda needs for Lex targets, scoped to the bots and test sets
 * the config names (every bot only when a target discovers them). Verified
 * against the Service Authorization Reference for Amazon Lex V2:
 * - ListBots has no resource type: it needs `*`.
 * - ListBotVersions, ListBotLocales: `bot`.
 * - CreateExport, DescribeExport, DeleteExport: `bot` or `test set`
 *   (`bot/<botId>` and `test-set/<testSetId>`).
 */
import { type ProviderGrants, type ResourceArn, unique } from '../grant-context';
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

const bot = (botId: string): ResourceArn => ({ service: 'lex', resource: 'bot', name: botId, sep: '/' });
const testSet = (testSetId: string): ResourceArn => ({ service: 'lex', resource: 'test-set', name: testSetId, sep: '/' });
const botAliases = (botId: string): ResourceArn => ({ service: 'lex', resource: 'bot-alias', name: botId === '*' ? '*' : `${botId}/*`, sep: '/' });

/** The password secrets of password-protected exports: read by StartExport, StoreArchive and the restore drill. */
const passwordSecrets = (targets: readonly LexTarget[]) => unique(targets.flatMap((t) => (t.passwordSecret ? [t.passwordSecret] : [])));

const grant: ProviderGrants<LexTarget>['grant'] = (targets, ctx) => {
  const discover = targets.some((t) => t.discover === true);
  const botIds = unique(targets.flatMap((t) => (t.botId ? [t.botId] : [])));
  const testSetIds = unique(targets.flatMap((t) => (t.testSetId ? [t.testSetId] : [])));
  // Discovery may export any bot, so `bot/*` replaces the individual bots.
  const bots = discover ? [ctx.arn(bot('*'))] : botIds.map((id) => ctx.arn(bot(id)));
  const testSets = testSetIds.map((id) => ctx.arn(testSet(id)));
  const exportResources = [...bots, ...testSets];

  if (discover) {
    ctx.allow('plan', ['lex:ListBots'], ['*']);
    ctx.allow('plan', ['lex:ListBotVersions', 'lex:ListBotLocales'], [ctx.arn(bot('*'))]);
    for (const fn of ['plan', 'startExport', 'checkExport', 'storeArchive', 'cleanup'] as const) {
      ctx.acknowledgeWildcard(
        fn,
        bot('*'),
        'A target has "discover": true: the bots to back up are found at run time, so any bot in this account and region.',
      );
    }
    ctx.acknowledgeWildcard('plan', '*', 'lex:ListBots supports no resource-level permissions (Service Authorization Reference); X-Ray likewise.');
  }

  ctx.allow('startExport', ['lex:CreateExport'], exportResources);
  // The export password is read where it is used: StartExport passes it to CreateExport, StoreArchive
  // decrypts the download with it (checks and content hash of the plaintext). It never travels further.
  const secrets = passwordSecrets(targets).map((s) => ctx.secretArn(s));
  ctx.allow('startExport', ['secretsmanager:GetSecretValue'], secrets);
  ctx.allow('storeArchive', ['secretsmanager:GetSecretValue'], secrets);

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
    aliasBots.map((id) => ctx.arn(botAliases(id))),
  );
  for (const id of aliasBots) {
    ctx.acknowledgeWildcard(
      'storeArchive',
      botAliases(id),
      'The restore sidecar records every alias of the bot (DescribeBotAlias); aliases are created at any time, so all aliases of this bot.',
    );
  }

  ctx.allow('cleanup', ['lex:DeleteExport'], exportResources);
};

export const lexGrants: ProviderGrants<LexTarget> = { grant, archiveSecrets: passwordSecrets };
