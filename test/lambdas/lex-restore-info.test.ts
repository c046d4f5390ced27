/**
 * LexProvider.restoreInfo with the REAL LexModelsV2Client against the Lex
 * simulator: DescribeBot, every alias across ListBotAliases pages with its
 * DescribeBotAlias settings (Lambda hooks, logs), and the bot's tags through
 * an ARN built from the role's account.
 */
import { LexModelsV2Client } from '@aws-sdk/client-lex-models-v2';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LexProvider } from '../../lib/providers/lex/provider';
import { ProviderRequestError } from '../../lib/core/errors';
import { startLexSimulator, type LexSimulator, type SimBotAlias } from '../simulators/lex-simulator';
import { lexJob } from '../../lib/providers/lex/keys';
import { restoreDetailsSchema } from '../../lib/providers/definitions';
import { TEST_HOME } from '../helpers/home';

const ROLE = 'arn:aws:iam::210987654321:role/BotRole';
const HOOK = 'arn:aws:lambda:us-east-1:210987654321:function:fulfil';
const aliases: SimBotAlias[] = Array.from({ length: 13 }, (_, i) => ({
  botAliasId: `ALIAS${String(i).padStart(5, '0')}`,
  botAliasName: `alias-${i}`,
  botVersion: String((i % 2) + 1),
  botAliasLocaleSettings: {
    en_US: { enabled: true, codeHookSpecification: { lambdaCodeHook: { lambdaARN: HOOK, codeHookInterfaceVersion: '1.0' } } },
  },
  ...(i === 0
    ? {
        description: 'production',
        conversationLogSettings: {
          textLogSettings: [
            {
              enabled: true,
              destination: { cloudWatch: { cloudWatchLogGroupArn: 'arn:aws:logs:us-east-1:210987654321:log-group:lex', logPrefix: 'prod' } },
            },
          ],
        },
        sentimentAnalysisSettings: { detectSentiment: true },
      }
    : {}),
}));

let sim: LexSimulator;
let provider: LexProvider;
const noArchive = { readEntry: async () => undefined };

beforeAll(async () => {
  sim = await startLexSimulator({
    bots: [
      {
        botId: 'HOOKEDBOT1',
        botName: 'Hooked',
        versions: ['1', '2'],
        settings: {
          roleArn: ROLE,
          description: 'has hooks',
          dataPrivacy: { childDirected: true },
          idleSessionTTLInSeconds: 900,
          aliases,
          tags: { team: 'support', env: 'prod' },
        },
      },
      { botId: 'PLAINBOT01', botName: 'Plain' },
    ],
  });
  const lex = new LexModelsV2Client({ endpoint: sim.url, region: 'us-east-1', credentials: { accessKeyId: 'test', secretAccessKey: 'test' } });
  provider = new LexProvider({ lex });
});
afterAll(async () => sim?.close());

describe('LexProvider.restoreInfo', () => {
  it('records role, data privacy, idle TTL, every alias (paged) with hooks and logs, and tags', async () => {
    const job = lexJob(TEST_HOME, { kind: 'bot', botId: 'HOOKEDBOT1', botVersion: 'DRAFT', fileFormat: 'LexJson' });
    const details = restoreDetailsSchema.parse(await provider.restoreInfo(job, noArchive));
    const lex = details.lex!;
    expect(lex).toMatchObject({
      botId: 'HOOKEDBOT1',
      botName: 'Hooked',
      description: 'has hooks',
      roleArn: ROLE,
      dataPrivacy: { childDirected: true },
      idleSessionTTLInSeconds: 900,
      botType: 'Bot',
      tags: { team: 'support', env: 'prod' },
    });
    expect(lex.aliases.map((a) => a.botAliasId)).toEqual(aliases.map((a) => a.botAliasId));
    expect(lex.aliases[0]).toEqual(aliases[0]);
    expect(lex.aliases[12]!.botAliasLocaleSettings?.en_US?.codeHookSpecification?.lambdaCodeHook.lambdaARN).toBe(HOOK);
    // 13 aliases at most 10 per page: two ListBotAliases pages, one DescribeBotAlias each.
    const ops = sim.calls.filter((c) => c.botId === 'HOOKEDBOT1' || c.op === 'ListTagsForResource').map((c) => c.op);
    expect(ops.filter((o) => o === 'ListBotAliases')).toHaveLength(2);
    expect(ops.filter((o) => o === 'DescribeBotAlias')).toHaveLength(13);
    expect(ops.filter((o) => o === 'ListTagsForResource')).toHaveLength(1);
  });

  it('a locale job records its bot too; defaults: the test alias, no tags', async () => {
    const job = lexJob(TEST_HOME, { kind: 'botLocale', botId: 'PLAINBOT01', botVersion: 'DRAFT', localeId: 'en_US', fileFormat: 'LexJson' });
    const details = await provider.restoreInfo(job, noArchive);
    expect(details?.lex).toMatchObject({
      botId: 'PLAINBOT01',
      botName: 'Plain',
      dataPrivacy: { childDirected: false },
      idleSessionTTLInSeconds: 300,
      tags: {},
    });
    expect(details?.lex?.aliases).toEqual([
      { botAliasId: 'TSTALIASID', botAliasName: 'TestBotAlias', botVersion: 'DRAFT', botAliasLocaleSettings: { en_US: { enabled: true } } },
    ]);
  });

  it('follows changes to the settings', async () => {
    sim.setBotSettings('PLAINBOT01', { tags: { owner: 'ops' }, idleSessionTTLInSeconds: 600 });
    const job = lexJob(TEST_HOME, { kind: 'bot', botId: 'PLAINBOT01', botVersion: 'DRAFT', fileFormat: 'LexJson' });
    expect((await provider.restoreInfo(job, noArchive))?.lex).toMatchObject({ tags: { owner: 'ops' }, idleSessionTTLInSeconds: 600 });
  });

  it('a test set has nothing to record', async () => {
    const job = lexJob(TEST_HOME, { kind: 'testSet', testSetId: 'TS1', fileFormat: 'CSV' });
    expect(await provider.restoreInfo(job, noArchive)).toBeUndefined();
  });

  it('an unknown bot fails as a named request error', async () => {
    const job = lexJob(TEST_HOME, { kind: 'bot', botId: 'MISSING001', botVersion: 'DRAFT', fileFormat: 'LexJson' });
    await expect(provider.restoreInfo(job, noArchive)).rejects.toBeInstanceOf(ProviderRequestError);
  });
});
