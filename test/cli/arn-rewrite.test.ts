/**
 * ARN rewriting for a restore into another account or region
 * (lib/providers/lex/arn-rewrite.ts): finding ARNs in JSON and free text,
 * the classification rules in their order, `--map-arn` parsing, the plan and
 * its refusal, and the rebuilt archive (plaintext, AES and ZipCrypto: the
 * same password and method, only the ARNs' bytes changed).
 */
import { describe, expect, it } from 'vitest';
import { bufferByteSource } from '../../lib/core/archive/byte-source';
import { withZip } from '../../lib/core/archive/zip';
import {
  ArnMappingError,
  arnsInJson,
  arnsInText,
  classifyArn,
  lexArnPlaces,
  parseArn,
  parseArnMapping,
  partitionOf,
  planArnRewrites,
  type RewriteContext,
  refusalMessage,
  replaceArns,
  rewriteLexArchive,
} from '../../lib/providers/lex/arn-rewrite';
import type { LexRestoreInfo } from '../../lib/providers/lex/restore-info';
import { lexExportEntries, sampleLexBot } from '../generators/lex-export';
import { writeZip } from '../generators/zip-writer';

const SRC = '123456789012';
const DST = '222233334444';
const THIRD = '999988887777';
const ctx = (mappings: string[] = [], over: Partial<RewriteContext> = {}): RewriteContext => ({
  source: { account: SRC, region: 'us-east-1' },
  destination: { account: DST, region: 'eu-west-1' },
  mappings: mappings.map(parseArnMapping),
  ...over,
});

describe('finding ARNs', () => {
  it('parses the parts of an ARN, with and without region and account', () => {
    expect(parseArn(`arn:aws:lambda:us-east-1:${SRC}:function:Hook:live`)).toEqual({
      partition: 'aws',
      service: 'lambda',
      region: 'us-east-1',
      account: SRC,
      resource: 'function:Hook:live',
    });
    expect(parseArn('arn:aws:s3:::alpha-logs')).toMatchObject({ region: '', account: '', resource: 'alpha-logs' });
    expect(parseArn('arn:aws-us-gov:iam::aws:policy/ReadOnlyAccess')).toMatchObject({ partition: 'aws-us-gov', account: 'aws' });
    expect(parseArn('arn:aws:lambda:us-east-1:123:function:Short')).toBeUndefined();
    expect(parseArn('not an arn')).toBeUndefined();
    expect(parseArn(`arn:aws:lambda:us-east-1:${SRC}:function:Hook `)).toBeUndefined();
  });

  it('finds ARNs inside free text, without the punctuation around them', () => {
    const text = `Calls arn:aws:lambda:us-east-1:${SRC}:function:Hook. Logs to (arn:aws:logs:us-east-1:${SRC}:log-group:/lex/alpha), "arn:aws:s3:::b"`;
    expect(arnsInText(text)).toEqual([
      `arn:aws:lambda:us-east-1:${SRC}:function:Hook`,
      `arn:aws:logs:us-east-1:${SRC}:log-group:/lex/alpha`,
      'arn:aws:s3:::b',
    ]);
    const table = new Map([[`arn:aws:lambda:us-east-1:${SRC}:function:Hook`, `arn:aws:lambda:eu-west-1:${DST}:function:Hook`]]);
    expect(replaceArns(text, table)).toBe(text.replace(`us-east-1:${SRC}:function:Hook`, `eu-west-1:${DST}:function:Hook`));
  });

  it('walks JSON values and keys, naming each place by its path (sidecar aliases by name)', () => {
    const value = {
      roleArn: `arn:aws:iam::${SRC}:role/Lex`,
      aliases: [
        {
          botAliasName: 'Live',
          botAliasLocaleSettings: {
            en_US: { codeHookSpecification: { lambdaCodeHook: { lambdaARN: `arn:aws:lambda:us-east-1:${SRC}:function:Hook` } } },
          },
        },
      ],
      list: ['x', `arn:aws:sns:us-east-1:${SRC}:topic`],
      [`arn:aws:kms:us-east-1:${SRC}:key/k`]: 1,
    };
    expect(arnsInJson(value, (p) => `sidecar ${p}`)).toEqual([
      { arn: `arn:aws:iam::${SRC}:role/Lex`, where: 'sidecar roleArn' },
      {
        arn: `arn:aws:lambda:us-east-1:${SRC}:function:Hook`,
        where: 'sidecar aliases[Live].botAliasLocaleSettings.en_US.codeHookSpecification.lambdaCodeHook.lambdaARN',
      },
      { arn: `arn:aws:sns:us-east-1:${SRC}:topic`, where: 'sidecar list[1]' },
      { arn: `arn:aws:kms:us-east-1:${SRC}:key/k`, where: `sidecar arn:aws:kms:us-east-1:${SRC}:key/k (key)` },
    ]);
  });
});

describe('classifyArn', () => {
  it('the source account and region: both rewritten; IAM (no region): the account; the partition kept', () => {
    expect(classifyArn(`arn:aws:lambda:us-east-1:${SRC}:function:Hook`, ctx())).toEqual({
      action: 'rewrite',
      to: `arn:aws:lambda:eu-west-1:${DST}:function:Hook`,
      rule: 'account and region',
    });
    expect(classifyArn(`arn:aws:iam::${SRC}:role/service/LexRole`, ctx())).toEqual({
      action: 'rewrite',
      to: `arn:aws:iam::${DST}:role/service/LexRole`,
      rule: 'account',
    });
    // The Lex service-linked role keeps its path in the destination account.
    const slr = 'role/aws-service-role/lexv2.amazonaws.com/AWSServiceRoleForLexV2Bots_ALPHA';
    expect(classifyArn(`arn:aws:iam::${SRC}:${slr}`, ctx())).toMatchObject({ to: `arn:aws:iam::${DST}:${slr}`, rule: 'account' });
    // The source account in a third region: only the account changes.
    expect(classifyArn(`arn:aws:lambda:us-west-2:${SRC}:function:Hook`, ctx())).toEqual({
      action: 'rewrite',
      to: `arn:aws:lambda:us-west-2:${DST}:function:Hook`,
      rule: 'account',
    });
  });

  it('a move within the account changes only the region; the same account and region keeps everything', () => {
    const within = ctx([], { destination: { account: SRC, region: 'eu-west-1' } });
    expect(classifyArn(`arn:aws:lambda:us-east-1:${SRC}:function:Hook`, within)).toMatchObject({
      to: `arn:aws:lambda:eu-west-1:${SRC}:function:Hook`,
      rule: 'region',
    });
    expect(classifyArn(`arn:aws:iam::${SRC}:role/Lex`, within)).toEqual({ action: 'keep', reason: 'it already names the destination' });
  });

  it('no account: the source region moves (a foundation model), a bucket and an AWS-managed policy stay', () => {
    expect(classifyArn('arn:aws:bedrock:us-east-1::foundation-model/anthropic.claude-3-haiku-20240307-v1:0', ctx())).toEqual({
      action: 'rewrite',
      to: 'arn:aws:bedrock:eu-west-1::foundation-model/anthropic.claude-3-haiku-20240307-v1:0',
      rule: 'region',
    });
    expect(classifyArn('arn:aws:s3:::alpha-audio-logs', ctx())).toEqual({ action: 'keep', reason: 'names no account and no region' });
    expect(classifyArn('arn:aws:iam::aws:policy/AmazonLexFullAccess', ctx())).toEqual({
      action: 'keep',
      reason: 'an AWS-managed resource and no region',
    });
    expect(classifyArn('arn:aws:bedrock:us-west-2::foundation-model/m', ctx())).toEqual({
      action: 'keep',
      reason: "names no account and region us-west-2, not the source's",
    });
  });

  it('the destination account is kept; a third account is refused unless mapped', () => {
    expect(classifyArn(`arn:aws:lambda:us-east-1:${DST}:function:Theirs`, ctx())).toEqual({
      action: 'keep',
      reason: 'it names the destination account already',
    });
    const third = `arn:aws:lambda:us-east-1:${THIRD}:function:Shared`;
    expect(classifyArn(third, ctx())).toEqual({
      action: 'refuse',
      reason: `account ${THIRD} is neither the source's (${SRC}) nor the destination's (${DST})`,
    });
    const mapped = `arn:aws:lambda:eu-west-1:${DST}:function:Shared`;
    expect(classifyArn(third, ctx([`${third}=${mapped}`]))).toEqual({ action: 'rewrite', to: mapped, rule: 'mapped', mapping: `${third}=${mapped}` });
  });

  it('--map-arn comes first, exact before prefix, the longest prefix winning', () => {
    const maps = [
      `arn:aws:lambda:us-east-1:${THIRD}:*=arn:aws:lambda:eu-west-1:${DST}:*`,
      `arn:aws:lambda:us-east-1:${THIRD}:function:Special*=arn:aws:lambda:eu-west-1:${DST}:function:Other*`,
      `arn:aws:lambda:us-east-1:${SRC}:function:Hook=arn:aws:lambda:eu-west-1:${DST}:function:HookEU`,
    ];
    expect(classifyArn(`arn:aws:lambda:us-east-1:${THIRD}:function:A`, ctx(maps))).toMatchObject({
      to: `arn:aws:lambda:eu-west-1:${DST}:function:A`,
    });
    expect(classifyArn(`arn:aws:lambda:us-east-1:${THIRD}:function:Special1`, ctx(maps))).toMatchObject({
      to: `arn:aws:lambda:eu-west-1:${DST}:function:Other1`,
    });
    // Even an ARN the rules would rewrite is taken as the operator maps it.
    expect(classifyArn(`arn:aws:lambda:us-east-1:${SRC}:function:Hook`, ctx(maps))).toMatchObject({
      to: `arn:aws:lambda:eu-west-1:${DST}:function:HookEU`,
      rule: 'mapped',
    });
  });

  it('another partition than the destination region is refused', () => {
    expect(partitionOf('cn-north-1')).toBe('aws-cn');
    expect(partitionOf('us-gov-west-1')).toBe('aws-us-gov');
    expect(partitionOf('eu-west-1')).toBe('aws');
    expect(classifyArn(`arn:aws:iam::${SRC}:role/Lex`, ctx([], { destination: { account: DST, region: 'cn-north-1' } }))).toEqual({
      action: 'refuse',
      reason: 'it is in partition aws and cn-north-1 in aws-cn',
    });
  });
});

describe('parseArnMapping', () => {
  it('splits at the = that starts the second ARN (IAM names may hold =)', () => {
    expect(parseArnMapping(`arn:aws:iam::${THIRD}:role/a=b=arn:aws:iam::${DST}:role/c`)).toMatchObject({
      from: `arn:aws:iam::${THIRD}:role/a=b`,
      to: `arn:aws:iam::${DST}:role/c`,
      prefix: false,
    });
    expect(parseArnMapping(`arn:aws:iam::${THIRD}:role/*=arn:aws:iam::${DST}:role/*`)).toMatchObject({
      from: `arn:aws:iam::${THIRD}:role/`,
      to: `arn:aws:iam::${DST}:role/`,
      prefix: true,
    });
  });

  it('refuses what is not two ARNs or two prefixes', () => {
    for (const bad of [
      'arn:aws:iam::999988887777:role/a',
      'x=arn:aws:iam::222233334444:role/a',
      `arn:aws:iam::${THIRD}:role/*=arn:aws:iam::${DST}:role/a`,
      `arn:aws:iam::${THIRD}:role/a=arn:aws:iam::${DST}:role/*`,
      `arn:aws:iam::${THIRD}:role/a=arn:nope`,
    ]) {
      expect(() => parseArnMapping(bad), bad).toThrow(ArnMappingError);
    }
    expect(() => parseArnMapping('nope')).toThrow(/^--map-arn nope: expected FROM=TO, two ARNs/);
  });
});

describe('planArnRewrites', () => {
  it('classifies each ARN once with every place it is in, and lists unused mappings', () => {
    const hook = `arn:aws:lambda:us-east-1:${SRC}:function:Hook`;
    const plan = planArnRewrites(
      [
        { arn: hook, where: 'sidecar a' },
        { arn: hook, where: 'Bot.json description' },
        { arn: hook, where: 'sidecar a' },
        { arn: 'arn:aws:s3:::b', where: 'sidecar s3' },
      ],
      ctx([`arn:aws:sns:us-east-1:${THIRD}:t=arn:aws:sns:eu-west-1:${DST}:t`]),
    );
    expect(plan.rewritten).toEqual([
      { from: hook, to: `arn:aws:lambda:eu-west-1:${DST}:function:Hook`, rule: 'account and region', where: ['sidecar a', 'Bot.json description'] },
    ]);
    expect(plan.kept).toEqual([{ arn: 'arn:aws:s3:::b', reason: 'names no account and no region', where: ['sidecar s3'] }]);
    expect(plan.refused).toEqual([]);
    expect(plan.unusedMappings).toEqual([`arn:aws:sns:us-east-1:${THIRD}:t=arn:aws:sns:eu-west-1:${DST}:t`]);
    expect([...plan.table]).toEqual([[hook, `arn:aws:lambda:eu-west-1:${DST}:function:Hook`]]);
  });

  it('the refusal names each unmappable ARN, where it is, and the flag', () => {
    const plan = planArnRewrites(
      [
        { arn: `arn:aws:lambda:us-east-1:${THIRD}:function:Shared`, where: 'sidecar aliases[Live].x' },
        { arn: `arn:aws:kms:us-east-1:${THIRD}:key/k`, where: 'sidecar aliases[Live].y' },
      ],
      ctx(),
    );
    expect(refusalMessage(plan)).toBe(
      `2 ARNs cannot be mapped to the destination: arn:aws:lambda:us-east-1:${THIRD}:function:Shared (account ${THIRD} is neither the source's (${SRC}) nor the destination's (${DST}); in sidecar aliases[Live].x); ` +
        `arn:aws:kms:us-east-1:${THIRD}:key/k (account ${THIRD} is neither the source's (${SRC}) nor the destination's (${DST}); in sidecar aliases[Live].y); give --map-arn FROM=TO for each (or FROM*=TO* for a prefix)`,
    );
  });
});

describe('rewriteLexArchive', () => {
  const KENDRA = `arn:aws:kendra:us-east-1:${SRC}:index/0123456789abcdef`;
  const HOOK = `arn:aws:lambda:us-east-1:${SRC}:function:Hook`;
  const bot = sampleLexBot('ALPHABOT01', 'Alpha', ['Greet']);
  bot.description = `Fulfilled by ${HOOK}.`;
  const exported = lexExportEntries(bot);
  /** The same bot's export with no ARN in it. */
  const plain = lexExportEntries(sampleLexBot('ALPHABOT01', 'Alpha', ['Greet']));
  // An intent that searches a Kendra index (pretty-printed, with a number Lex would write as 0.40).
  const kendraIntent = `{\n  "name": "Search",\n  "parentIntentSignature": "AMAZON.KendraSearchIntent",\n  "score": 0.40,\n  "kendraConfiguration": {"kendraIndex": "${KENDRA}", "queryFilterStringEnabled": false}\n}`;
  const files = [...exported, { name: 'Alpha/BotLocales/en_US/Intents/Search/Intent.json', data: kendraIntent }];
  const mtime = new Date(Date.UTC(2024, 1, 19));
  const info: LexRestoreInfo = {
    botId: 'ALPHABOT01',
    botName: 'Alpha',
    roleArn: `arn:aws:iam::${SRC}:role/LexAlpha`,
    dataPrivacy: { childDirected: false },
    idleSessionTTLInSeconds: 300,
    aliases: [
      {
        botAliasId: 'LIVEALIAS1',
        botAliasName: 'Live',
        botAliasLocaleSettings: {
          en_US: { enabled: true, codeHookSpecification: { lambdaCodeHook: { lambdaARN: HOOK, codeHookInterfaceVersion: '1.0' } } },
        },
      },
    ],
    tags: { owner: `arn:aws:iam::${SRC}:user/ops` },
  };

  async function rewritten(password?: string, encryption?: 'aes256' | 'zipcrypto') {
    const data = await writeZip(files, { mtime, ...(password ? { password, encryption } : {}) });
    const entries = await withZip(bufferByteSource(data), password ? { password } : {}, (z) => z.readAll());
    const plan = planArnRewrites(lexArnPlaces(entries, info), ctx());
    const out = await rewriteLexArchive({ data, entries, ...(password ? { password } : {}), info }, plan.table);
    return { data, entries, plan, out };
  }

  it('finds the archive and sidecar ARNs by file and field', async () => {
    const { plan } = await rewritten();
    expect(plan.rewritten.map((r) => [r.from, r.to, r.where])).toEqual([
      [
        HOOK,
        `arn:aws:lambda:eu-west-1:${DST}:function:Hook`,
        ['Alpha/Bot.json description', 'sidecar aliases[Live].botAliasLocaleSettings.en_US.codeHookSpecification.lambdaCodeHook.lambdaARN'],
      ],
      [
        KENDRA,
        `arn:aws:kendra:eu-west-1:${DST}:index/0123456789abcdef`,
        ['Alpha/BotLocales/en_US/Intents/Search/Intent.json kendraConfiguration.kendraIndex'],
      ],
      [`arn:aws:iam::${SRC}:role/LexAlpha`, `arn:aws:iam::${DST}:role/LexAlpha`, ['sidecar roleArn']],
      [`arn:aws:iam::${SRC}:user/ops`, `arn:aws:iam::${DST}:user/ops`, ['sidecar tags.owner']],
    ]);
  });

  it('a plaintext archive: a real zip again, only the ARNs changed (formatting and numbers as they were), the sidecar rewritten', async () => {
    const { data, entries, out } = await rewritten();
    expect(out.data.equals(data)).toBe(false);
    expect([...out.changedEntries].sort()).toEqual(['Alpha/Bot.json', 'Alpha/BotLocales/en_US/Intents/Search/Intent.json']);
    const back = await withZip(bufferByteSource(out.data), {}, (z) => z.readAll());
    expect([...back.keys()]).toEqual([...entries.keys()]);
    expect(back.get('Alpha/BotLocales/en_US/Intents/Search/Intent.json')!.toString()).toBe(
      kendraIntent.replace(KENDRA, `arn:aws:kendra:eu-west-1:${DST}:index/0123456789abcdef`),
    );
    expect(back.get('Alpha/Bot.json')!.toString()).toBe(
      entries.get('Alpha/Bot.json')!.toString().replace(HOOK, `arn:aws:lambda:eu-west-1:${DST}:function:Hook`),
    );
    for (const name of entries.keys()) if (!out.changedEntries.includes(name)) expect(back.get(name)!.equals(entries.get(name)!), name).toBe(true);
    expect(out.info!.roleArn).toBe(`arn:aws:iam::${DST}:role/LexAlpha`);
    expect(out.info!.aliases[0]!.botAliasLocaleSettings!.en_US!.codeHookSpecification!.lambdaCodeHook.lambdaARN).toBe(
      `arn:aws:lambda:eu-west-1:${DST}:function:Hook`,
    );
    expect(out.info!.tags).toEqual({ owner: `arn:aws:iam::${DST}:user/ops` });
    expect(JSON.stringify(out.info)).not.toContain(SRC);
    // The sidecar given is not changed in place.
    expect(info.roleArn).toBe(`arn:aws:iam::${SRC}:role/LexAlpha`);
  });

  it.each(['aes256', 'zipcrypto'] as const)('a %s archive is encrypted again with the same password and method', async (encryption) => {
    const { entries, out } = await rewritten('s3cret-Pass', encryption);
    const methods = await withZip(bufferByteSource(out.data), {}, async (z) => [...new Set(z.entries.map((e) => e.encryption))]);
    expect(methods).toEqual([encryption === 'aes256' ? 'aes' : 'zipcrypto']);
    await expect(withZip(bufferByteSource(out.data), {}, (z) => z.readAll())).rejects.toThrow(/encrypted/);
    const back = await withZip(bufferByteSource(out.data), { password: 's3cret-Pass' }, (z) => z.readAll());
    expect(back.get('Alpha/BotLocales/en_US/Intents/Search/Intent.json')!.toString()).toContain(`arn:aws:kendra:eu-west-1:${DST}:`);
    expect(back.size).toBe(entries.size);
  });

  it('nothing to rewrite in the archive: the stored bytes are uploaded as they are', async () => {
    const data = await writeZip(plain, { mtime });
    const entries = await withZip(bufferByteSource(data), {}, (z) => z.readAll());
    const plan = planArnRewrites(lexArnPlaces(entries, info), ctx());
    const out = await rewriteLexArchive({ data, entries, info }, plan.table);
    expect(out.data).toBe(data);
    expect(out.changedEntries).toEqual([]);
    expect(out.info!.roleArn).toBe(`arn:aws:iam::${DST}:role/LexAlpha`);
  });

  it('an ARN written with JSON escapes is rewritten through the parsed value', async () => {
    const escaped = `{"kendraConfiguration":{"kendraIndex":"arn:aws:kendra:us-east-1:${SRC}:index\\/abc"}}`;
    const data = await writeZip([...plain, { name: 'Alpha/BotLocales/en_US/Intents/S/Intent.json', data: escaped }], { mtime });
    const entries = await withZip(bufferByteSource(data), {}, (z) => z.readAll());
    const plan = planArnRewrites(lexArnPlaces(entries), ctx());
    expect(plan.rewritten.map((r) => r.to)).toEqual([`arn:aws:kendra:eu-west-1:${DST}:index/abc`]);
    const out = await rewriteLexArchive({ data, entries }, plan.table);
    expect(JSON.parse(out.entries.get('Alpha/BotLocales/en_US/Intents/S/Intent.json')!.toString())).toEqual({
      kendraConfiguration: { kendraIndex: `arn:aws:kendra:eu-west-1:${DST}:index/abc` },
    });
  });
});
