/**
 * How operators name resources on the command line: key parsing, matching,
 * the --only check against the config, default download names.
 */
import { describe, expect, it } from 'vitest';
import { parseConfig } from '../../lib/config/config';
import { CliError } from '../../lib/cli/output';
import { checkOnly, defaultFileName, matchResources, resolveResource, unverifiedWarning } from '../../lib/cli/targets';
import { onlySelects } from '../../lib/core/only';
import { keyInfo, targetJobId } from '../../lib/providers/definitions';

const KEYS = [
  'lex/123456789012/us-east-1/ABCDEFGHIJ/DRAFT/bot.zip',
  'lex/123456789012/us-east-1/ABCDEFGHIJ/3/bot.zip',
  'lex/123456789012/us-east-1/ABCDEFGHIJ/3/locales/en_US.zip',
  'lex/123456789012/us-east-1/ABCDEFGHIJ/3/locales/en_US/custom-vocabulary.zip',
  'lex/123456789012/us-east-1/test-sets/TESTSET001/test-set.zip',
  'lex/123456789012/us-east-1/ZYXWVUTSRQ/DRAFT/bot.zip',
];
const HOME = { account: '123456789012', region: 'us-east-1' };
const infos = KEYS.map((key) => keyInfo(key, HOME));

const KORE_BOT = 'st-1a2b3c4d-0000-1111-2222-333344445555';

describe('keyInfo', () => {
  it('recovers the job id Plan gives each Lex key shape', () => {
    expect(infos.map((i) => i.id)).toEqual([
      'lex:ABCDEFGHIJ:DRAFT',
      'lex:ABCDEFGHIJ:3',
      'lex:ABCDEFGHIJ:3:en_US',
      'lex:ABCDEFGHIJ:3:en_US:custom-vocabulary',
      'lex:test-set:TESTSET001',
      'lex:ZYXWVUTSRQ:DRAFT',
    ]);
    expect(infos[2]).toMatchObject({ botId: 'ABCDEFGHIJ', botVersion: '3', localeId: 'en_US' });
    expect(infos[4]!.testSetId).toBe('TESTSET001');
    expect(infos[4]!.botId).toBeUndefined();
  });

  it('the ids agree with the ids the workflow computes from config targets', () => {
    const config = parseConfig({
      targets: [
        { provider: 'lex', botId: 'ABCDEFGHIJ', botVersion: 'DRAFT' },
        { provider: 'lex', botId: 'ABCDEFGHIJ', botVersion: '3', localeId: 'en_US' },
        { provider: 'lex', botId: 'ABCDEFGHIJ', botVersion: '3', localeId: 'en_US', customVocabulary: true },
        { provider: 'lex', testSetId: 'TESTSET001' },
      ],
    });
    expect(config.targets.map((t) => targetJobId(t, HOME))).toEqual([infos[0]!.id, infos[2]!.id, infos[3]!.id, infos[4]!.id]);
  });

  it('reads Kore.ai keys into the job ids Plan gives them', () => {
    expect(keyInfo('koreai/bots.kore.ai/st-1/published/bot.zip')).toEqual({
      key: 'koreai/bots.kore.ai/st-1/published/bot.zip',
      provider: 'koreai',
      id: 'koreai:st-1:published',
      botId: 'st-1',
    });
    const config = parseConfig({
      targets: [{ provider: 'koreai', host: 'https://bots.kore.ai', botId: KORE_BOT, credentialsSecret: 'botvault/koreai', exportType: 'latest' }],
    });
    expect(targetJobId(config.targets[0]!, HOME)).toBe(keyInfo(`koreai/bots.kore.ai/${KORE_BOT}/latest/bot.zip`).id);
  });

  it('keeps an unknown layout as a key with no id, and unknown providers with their bot id', () => {
    expect(keyInfo('lex/123456789012/us-east-1/odd.zip')).toEqual({ key: 'lex/123456789012/us-east-1/odd.zip', provider: 'lex' });
    expect(keyInfo('koreai/bots.kore.ai/st-1/odd.zip')).toEqual({ key: 'koreai/bots.kore.ai/st-1/odd.zip', provider: 'koreai' });
    expect(keyInfo('other/scope/bot-1/v/bot.zip')).toEqual({ key: 'other/scope/bot-1/v/bot.zip', provider: 'other', botId: 'bot-1' });
  });
});

describe('matching a TARGET', () => {
  it('an exact key or job id names one resource; a bot id names all of its resources', () => {
    expect(matchResources('lex/123456789012/us-east-1/ABCDEFGHIJ/3/bot.zip', infos).map((i) => i.key)).toEqual([KEYS[1]]);
    expect(matchResources('lex:ABCDEFGHIJ:3', infos).map((i) => i.key)).toEqual([KEYS[1]]);
    expect(matchResources('ABCDEFGHIJ', infos)).toHaveLength(4);
    expect(matchResources('TESTSET001', infos).map((i) => i.key)).toEqual([KEYS[4]]);
    expect(matchResources('abcdefghij', infos)).toEqual([]);
  });

  it('resolves a unique match; an ambiguous one lists the candidates; an unknown one lists what exists', () => {
    expect(resolveResource('ZYXWVUTSRQ', infos, 'b').key).toBe(KEYS[5]);
    expect(() => resolveResource('ABCDEFGHIJ', infos, 'b')).toThrow(CliError);
    expect(() => resolveResource('ABCDEFGHIJ', infos, 'b')).toThrow(/matches 4 resources; name one of: lex:ABCDEFGHIJ:DRAFT, lex:ABCDEFGHIJ:3, /);
    expect(() => resolveResource('NOPE', infos, 'b')).toThrow(/"NOPE" matches no backed-up resource in s3:\/\/b; .* known: lex:ABCDEFGHIJ:DRAFT/);
    expect(() => resolveResource('NOPE', [], 'b')).toThrow(/no archives yet/);
  });
});

describe('checkOnly', () => {
  const staticOnly = parseConfig({
    targets: [
      { provider: 'lex', botId: 'ABCDEFGHIJ', botVersion: 'DRAFT' },
      { provider: 'lex', botId: 'ABCDEFGHIJ', botVersion: '3', localeId: 'en_US' },
    ],
  });

  it('accepts job ids and bot ids of configured targets', () => {
    expect(checkOnly(['lex:ABCDEFGHIJ:DRAFT', 'lex:ABCDEFGHIJ:3:en_US', 'ABCDEFGHIJ'], staticOnly, HOME)).toEqual({ unverified: [] });
  });

  it('refuses anything else, listing the known job ids', () => {
    expect(() => checkOnly(['lex:ABCDEFGHIJ:9'], staticOnly, HOME)).toThrow(CliError);
    expect(() => checkOnly(['lex:ABCDEFGHIJ:9', 'ABCDEFGHIJ'], staticOnly, HOME)).toThrow(
      '--only "lex:ABCDEFGHIJ:9": not in the config\'s targets; known: lex:ABCDEFGHIJ:DRAFT, lex:ABCDEFGHIJ:3:en_US (job id or bot id; a bot name selects only bots a discovery target finds)',
    );
  });

  it('with a discovery target, accepts unknown entries as unverified (discovery may find them)', () => {
    const withDiscovery = parseConfig({ targets: [...staticOnly.targets, { provider: 'lex', discover: true }] });
    expect(checkOnly(['ABCDEFGHIJ', 'SupportBot', 'lex:QQQQQQQQQQ:DRAFT'], withDiscovery, HOME)).toEqual({
      unverified: ['SupportBot', 'lex:QQQQQQQQQQ:DRAFT'],
    });
    expect(unverifiedWarning(['SupportBot'])).toBe(
      '"SupportBot" is not a configured target; accepted because a discovery target may find it by id or name (the run fails in Plan, before any export, if not)',
    );
    expect(unverifiedWarning([])).toBeUndefined();
  });
});

describe('checkOnly with Kore.ai targets', () => {
  const config = parseConfig({
    targets: [
      { provider: 'lex', botId: 'ABCDEFGHIJ', botVersion: 'DRAFT' },
      { provider: 'koreai', host: 'https://bots.kore.ai', botId: KORE_BOT, credentialsSecret: 'botvault/koreai' },
    ],
  });

  it('accepts its job id and its bot id', () => {
    expect(checkOnly([`koreai:${KORE_BOT}:published`, KORE_BOT], config, HOME)).toEqual({ unverified: [] });
  });

  it('refuses another export type or bot, listing the known job ids', () => {
    expect(() => checkOnly([`koreai:${KORE_BOT}:latest`], config, HOME)).toThrow(`known: lex:ABCDEFGHIJ:DRAFT, koreai:${KORE_BOT}:published`);
  });
});

describe('the forms of an only entry (the one matcher Plan applies to run --only and local --only)', () => {
  const job = { id: 'lex:ABCDEFGHIJ:3:en_US', name: 'OrderFlowers', spec: { botId: 'ABCDEFGHIJ', botVersion: '3' } };

  it('a job id, a bot id or a bot name (any case) selects the job; nothing else does', () => {
    for (const entry of ['lex:ABCDEFGHIJ:3:en_US', 'ABCDEFGHIJ', 'OrderFlowers', 'orderflowers']) expect(onlySelects(entry, job)).toBe(true);
    for (const entry of ['lex:ABCDEFGHIJ:3', 'ABCDEFGHI', 'Order', 'lex:orderflowers']) expect(onlySelects(entry, job)).toBe(false);
    expect(onlySelects('TESTSET001', { id: 'lex:testset:TESTSET001', spec: { testSetId: 'TESTSET001' } })).toBe(true);
  });
});

describe('defaultFileName', () => {
  it('is <botId>-<botVersion>[-<locale>]-<version or current>.zip, safe for any file system', () => {
    expect(defaultFileName(infos[0]!, undefined)).toBe('ABCDEFGHIJ-DRAFT-current.zip');
    expect(defaultFileName(infos[2]!, 'v/1+2')).toBe('ABCDEFGHIJ-3-en_US-v_1_2.zip');
    expect(defaultFileName(infos[4]!, 'abc')).toBe('test-set-TESTSET001-abc.zip');
    expect(defaultFileName(keyInfo('koreai/bots.kore.ai/st-1/published/bot.zip'), undefined)).toBe('st-1-published-current.zip');
  });
});

describe('checkOnly with accounts and regions', () => {
  const config = parseConfig({
    accounts: [{ id: '222233334444', name: 'prod', roleArn: 'arn:aws:iam::222233334444:role/BotVaultBackup' }],
    targets: [
      { provider: 'lex', botId: 'ABCDEFGHIJ', botVersion: 'DRAFT', region: 'us-west-2' },
      { provider: 'lex', botId: 'BBBBBBBBBB', botVersion: 'DRAFT', region: 'us-east-1' },
      { provider: 'lex', botId: 'CCCCCCCCCC', botVersion: 'DRAFT', account: 'prod', region: 'eu-west-1' },
    ],
  });

  it('accepts exactly the job ids Plan gives: short at home, with the account and region elsewhere', () => {
    const ids = ['lex:123456789012:us-west-2:ABCDEFGHIJ:DRAFT', 'lex:BBBBBBBBBB:DRAFT', 'lex:222233334444:eu-west-1:CCCCCCCCCC:DRAFT'];
    expect(checkOnly(ids, config, HOME)).toEqual({ unverified: [] });
    expect(() => checkOnly(['lex:ABCDEFGHIJ:DRAFT'], config, HOME)).toThrow(
      'known: lex:123456789012:us-west-2:ABCDEFGHIJ:DRAFT, lex:BBBBBBBBBB:DRAFT, lex:222233334444:eu-west-1:CCCCCCCCCC:DRAFT',
    );
  });
});
