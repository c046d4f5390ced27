/**
 * What a deep restore drill does to Lex V2, through the real
 * @aws-sdk/client-lex-models-v2 against the Lex simulator (and once through
 * the Lex estate, whose SigV4 check covers the query strings of DeleteBot and
 * UntagResource): import an archive as a scratch bot with tags, build its
 * locales, export it again, delete it; the quotas on bots and parallel builds;
 * and the lossy-import fault.
 */
import {
  BuildBotLocaleCommand,
  CreateExportCommand,
  CreateUploadUrlCommand,
  DeleteBotCommand,
  DescribeBotCommand,
  DescribeBotLocaleCommand,
  DescribeExportCommand,
  DescribeImportCommand,
  LexModelsV2Client,
  ListBotLocalesCommand,
  ListBotsCommand,
  ListTagsForResourceCommand,
  StartImportCommand,
  TagResourceCommand,
  UntagResourceCommand,
  waitUntilBotLocaleBuilt,
} from '@aws-sdk/client-lex-models-v2';
import { afterEach, describe, expect, it } from 'vitest';
import { readZipEntries } from '../../lib/core/archive/zip';
import { type LexBotModel, lexExportZip, sampleLexBot } from '../generators/lex-export';
import { startLexEstate } from './lex-estate';
import { type LexSimulator, type LexSimulatorOptions, startLexSimulator } from './lex-simulator';
import { HOME, SimCredentials } from './sim-credentials';

const ACCOUNT = '123456789012';
const REGION = 'us-east-1';
const ROLE = `arn:aws:iam::${ACCOUNT}:role/BotVaultDrill`;
const DRILL_TAGS = { 'botvault:drill': 'true', 'botvault:source': 'lex:ORDERBOT01:DRAFT' };
const botArn = (botId: string) => `arn:aws:lex:${REGION}:${ACCOUNT}:bot/${botId}`;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** The archive a drill restores: OrderFlowers with 7 sample utterances, Greet with 3, in two locales. */
function orderBot(): LexBotModel {
  const model = sampleLexBot('ORDERBOT01', 'OrderBot', ['OrderFlowers', 'Greet'], ['en_US', 'de_DE']);
  for (const l of model.locales) {
    l.intents[0]!.utterances = ['order flowers', 'I want flowers', 'send roses', 'buy a bouquet', 'flowers please', 'get me tulips', 'order lilies'];
  }
  return model;
}

let sims: LexSimulator[] = [];
let clients: LexModelsV2Client[] = [];
async function lexWith(opts: LexSimulatorOptions = {}): Promise<{ sim: LexSimulator; lex: LexModelsV2Client }> {
  const sim = await startLexSimulator({ accountId: ACCOUNT, region: REGION, ...opts });
  // maxAttempts 1: the refusals are what is tested, not the SDK's retries of them.
  const lex = new LexModelsV2Client({
    endpoint: sim.url,
    region: REGION,
    credentials: { accessKeyId: 'AKIDTEST', secretAccessKey: 'test' },
    maxAttempts: 1,
  });
  sims.push(sim);
  clients.push(lex);
  return { sim, lex };
}
afterEach(async () => {
  for (const c of clients) c.destroy();
  for (const s of sims) await s.close();
  sims = [];
  clients = [];
});

/** Uploads `zip`, starts a new-bot import named `botName` with the drill's tags, and polls DescribeImport until it settles. */
async function importAsNewBot(lex: LexModelsV2Client, zip: Buffer, botName: string, extra: Record<string, unknown> = {}) {
  const { importId, uploadUrl } = await lex.send(new CreateUploadUrlCommand({}));
  expect((await fetch(uploadUrl!, { method: 'PUT', body: zip })).status).toBe(200);
  const started = await lex.send(
    new StartImportCommand({
      importId,
      mergeStrategy: 'FailOnConflict',
      resourceSpecification: {
        botImportSpecification: {
          botName,
          roleArn: ROLE,
          dataPrivacy: { childDirected: false },
          idleSessionTTLInSeconds: 300,
          botTags: DRILL_TAGS,
          testBotAliasTags: { 'botvault:drill': 'true' },
          ...extra,
        },
      },
    }),
  );
  expect(started.importStatus).toBe('InProgress');
  for (;;) {
    const d = await lex.send(new DescribeImportCommand({ importId }));
    if (d.importStatus !== 'InProgress') return d;
    await sleep(20);
  }
}

async function exportOf(lex: LexModelsV2Client, botId: string): Promise<Map<string, string>> {
  const { exportId } = await lex.send(
    new CreateExportCommand({ resourceSpecification: { botExportSpecification: { botId, botVersion: 'DRAFT' } }, fileFormat: 'LexJson' }),
  );
  const d = await lex.send(new DescribeExportCommand({ exportId }));
  expect(d.exportStatus).toBe('Completed');
  const zip = Buffer.from(await (await fetch(d.downloadUrl!)).arrayBuffer());
  return new Map([...(await readZipEntries(zip))].map(([k, v]) => [k, v.toString('utf8')]));
}

/** An export's entries with the bot's name and every id taken out: what a drill compares. */
function withoutNamesAndIds(entries: Map<string, string>, botName: string): Record<string, unknown> {
  const strip = (v: unknown): unknown =>
    Array.isArray(v)
      ? v.map(strip)
      : v && typeof v === 'object'
        ? Object.fromEntries(
            Object.entries(v)
              .filter(([k]) => k !== 'identifier')
              .map(([k, x]) => [k, strip(x)]),
          )
        : v;
  const out: Record<string, unknown> = {};
  for (const [name, text] of entries) {
    const rel = name.startsWith(`${botName}/`) ? `<bot>/${name.slice(botName.length + 1)}` : name;
    const json = strip(JSON.parse(text)) as Record<string, unknown>;
    if (rel === '<bot>/Bot.json') delete json.name;
    out[rel] = json;
  }
  return out;
}

const utterancesOf = (entries: Map<string, string>, path: string) =>
  ((JSON.parse(entries.get(path)!) as { sampleUtterances: { utterance: string }[] | null }).sampleUtterances ?? []).map((u) => u.utterance);

describe('Lex simulator: a scratch bot from an archive (StartImport with tags, re-export)', () => {
  it('creates the bot with its tags, the import specification settings, NotBuilt locales; a re-export is the archive under its own name and ids', async () => {
    const { sim, lex } = await lexWith();
    const archive = await lexExportZip(orderBot(), { seed: 3 });
    const done = await importAsNewBot(lex, archive, 'botvault-drill-1a2b3c');
    expect(done).toMatchObject({ importStatus: 'Completed', importedResourceName: 'botvault-drill-1a2b3c' });
    const botId = done.importedResourceId!;
    expect(botId).toMatch(/^[0-9A-Z]{10}$/);
    expect(sim.imports.get(done.importId!)?.losses).toEqual([]);

    expect(await lex.send(new ListTagsForResourceCommand({ resourceARN: botArn(botId) }))).toMatchObject({ tags: DRILL_TAGS });
    const alias = `arn:aws:lex:${REGION}:${ACCOUNT}:bot-alias/${botId}/TSTALIASID`;
    expect((await lex.send(new ListTagsForResourceCommand({ resourceARN: alias }))).tags).toEqual({ 'botvault:drill': 'true' });
    const described = await lex.send(new DescribeBotCommand({ botId }));
    expect(described).toMatchObject({
      botName: 'botvault-drill-1a2b3c',
      botStatus: 'Available',
      roleArn: ROLE,
      dataPrivacy: { childDirected: false },
      idleSessionTTLInSeconds: 300,
    });
    expect(Math.abs(described.creationDateTime!.getTime() - Date.now())).toBeLessThan(5000);
    const locales = await lex.send(new ListBotLocalesCommand({ botId, botVersion: 'DRAFT' }));
    expect(locales.botLocaleSummaries?.map((l) => [l.localeId, l.botLocaleStatus]).sort()).toEqual([
      ['de_DE', 'NotBuilt'],
      ['en_US', 'NotBuilt'],
    ]);

    const original = new Map([...(await readZipEntries(archive))].map(([k, v]) => [k, v.toString('utf8')]));
    const again = await exportOf(lex, botId);
    // Lex's own layout, with the scratch bot's name: its folder, Bot.json's name and identifier.
    expect([...again.keys()].filter((k) => k !== 'Manifest.json').every((k) => k.startsWith('botvault-drill-1a2b3c/'))).toBe(true);
    expect(again.has('botvault-drill-1a2b3c/BotLocales/en_US/Intents/OrderFlowers/Intent.json')).toBe(true);
    expect(JSON.parse(again.get('botvault-drill-1a2b3c/Bot.json')!)).toMatchObject({
      name: 'botvault-drill-1a2b3c',
      identifier: botId,
      version: 'DRAFT',
    });
    // New resources, new ids (FallbackIntent keeps the built-in's).
    const id = (entries: Map<string, string>, path: string) => (JSON.parse(entries.get(path)!) as { identifier: string }).identifier;
    expect(id(again, 'botvault-drill-1a2b3c/BotLocales/en_US/Intents/OrderFlowers/Intent.json')).not.toBe(
      id(original, 'OrderBot/BotLocales/en_US/Intents/OrderFlowers/Intent.json'),
    );
    expect(id(again, 'botvault-drill-1a2b3c/BotLocales/en_US/Intents/FallbackIntent/Intent.json')).toBe('FALLBCKINT');
    // Names and ids aside, the re-export is the archive.
    expect(withoutNamesAndIds(again, 'botvault-drill-1a2b3c')).toEqual(withoutNamesAndIds(original, 'OrderBot'));
    expect(withoutNamesAndIds(again, 'botvault-drill-1a2b3c')).not.toEqual(withoutNamesAndIds(original, 'Other'));
  });

  it('TagResource adds and replaces, UntagResource removes; bad tags are a ValidationException, an unknown bot a ResourceNotFoundException', async () => {
    const { lex } = await lexWith({ bots: [{ botId: 'TAGGEDBOT1', botName: 'Tagged', settings: { tags: { team: 'a' } } }] });
    const arn = botArn('TAGGEDBOT1');
    await lex.send(new TagResourceCommand({ resourceARN: arn, tags: { team: 'b', 'botvault:drill': 'true' } }));
    expect((await lex.send(new ListTagsForResourceCommand({ resourceARN: arn }))).tags).toEqual({ team: 'b', 'botvault:drill': 'true' });
    await lex.send(new UntagResourceCommand({ resourceARN: arn, tagKeys: ['team', 'absent'] }));
    expect((await lex.send(new ListTagsForResourceCommand({ resourceARN: arn }))).tags).toEqual({ 'botvault:drill': 'true' });
    await expect(lex.send(new TagResourceCommand({ resourceARN: arn, tags: { 'aws:reserved': 'x' } }))).rejects.toMatchObject({
      name: 'ValidationException',
    });
    await expect(lex.send(new TagResourceCommand({ resourceARN: arn, tags: { k: 'v'.repeat(257) } }))).rejects.toMatchObject({
      name: 'ValidationException',
    });
    await expect(lex.send(new TagResourceCommand({ resourceARN: botArn('NOSUCHBOT1'), tags: { a: 'b' } }))).rejects.toMatchObject({
      name: 'ResourceNotFoundException',
      $metadata: { httpStatusCode: 404 },
    });
    // StartImport validates botTags before anything else happens.
    const { importId, uploadUrl } = await lex.send(new CreateUploadUrlCommand({}));
    await fetch(uploadUrl!, { method: 'PUT', body: await lexExportZip(orderBot()) });
    await expect(
      lex.send(
        new StartImportCommand({
          importId,
          mergeStrategy: 'FailOnConflict',
          resourceSpecification: {
            botImportSpecification: { botName: 'x', roleArn: ROLE, dataPrivacy: { childDirected: false }, botTags: { 'aws:x': '1' } },
          },
        }),
      ),
    ).rejects.toMatchObject({ name: 'ValidationException' });
  });
});

describe('Lex simulator: BuildBotLocale and DescribeBotLocale', () => {
  it('an import is applied on its own schedule: once importLatencyMs has passed, ListBots shows the bot though nobody asked DescribeImport', async () => {
    const { lex } = await lexWith({ defaultFaults: { importLatencyMs: 100 } });
    const { importId, uploadUrl } = await lex.send(new CreateUploadUrlCommand({}));
    expect((await fetch(uploadUrl!, { method: 'PUT', body: await lexExportZip(orderBot()) })).status).toBe(200);
    await lex.send(
      new StartImportCommand({
        importId,
        mergeStrategy: 'FailOnConflict',
        resourceSpecification: {
          botImportSpecification: { botName: 'UnpolledBot', roleArn: ROLE, dataPrivacy: { childDirected: false }, botTags: DRILL_TAGS },
        },
      }),
    );
    await sleep(150);
    const names = (await lex.send(new ListBotsCommand({}))).botSummaries?.map((b) => b.botName);
    expect(names).toContain('UnpolledBot');
  });

  it('Building for buildLatencyMs, then Built; the SDK waiter sees it through; DescribeBotLocale has the locale settings', async () => {
    const { lex } = await lexWith({ defaultFaults: { buildLatencyMs: 300 } });
    const { importedResourceId: botId } = await importAsNewBot(lex, await lexExportZip(orderBot()), 'botvault-drill-build');
    const built = await lex.send(new BuildBotLocaleCommand({ botId, botVersion: 'DRAFT', localeId: 'en_US' }));
    expect(built).toMatchObject({ botId, botVersion: 'DRAFT', localeId: 'en_US', botLocaleStatus: 'Building', $metadata: { httpStatusCode: 202 } });
    const during = await lex.send(new DescribeBotLocaleCommand({ botId, botVersion: 'DRAFT', localeId: 'en_US' }));
    expect(during).toMatchObject({
      botLocaleStatus: 'Building',
      localeName: 'English (US)',
      nluIntentConfidenceThreshold: 0.4,
      voiceSettings: { voiceId: 'Joanna', engine: 'neural' },
      intentsCount: 3,
      slotTypesCount: 1,
    });
    expect(during.lastBuildSubmittedDateTime).toBeInstanceOf(Date);
    const waited = await waitUntilBotLocaleBuilt(
      { client: lex, maxWaitTime: 10, minDelay: 0.1, maxDelay: 0.2 },
      { botId, botVersion: 'DRAFT', localeId: 'en_US' },
    );
    expect(waited.state).toBe('SUCCESS');
    expect((await lex.send(new DescribeBotLocaleCommand({ botId, botVersion: 'DRAFT', localeId: 'en_US' }))).botLocaleStatus).toBe('Built');
    // The other locale was not built.
    expect((await lex.send(new DescribeBotLocaleCommand({ botId, botVersion: 'DRAFT', localeId: 'de_DE' }))).botLocaleStatus).toBe('NotBuilt');
  });

  it('failBuild: the build ends Failed with those failureReasons', async () => {
    const { lex } = await lexWith({ defaultFaults: { failBuild: ['Slot type OrderBotChoice has no values.'] } });
    const { importedResourceId: botId } = await importAsNewBot(lex, await lexExportZip(orderBot()), 'botvault-drill-fail');
    await lex.send(new BuildBotLocaleCommand({ botId, botVersion: 'DRAFT', localeId: 'de_DE' }));
    expect(await lex.send(new DescribeBotLocaleCommand({ botId, botVersion: 'DRAFT', localeId: 'de_DE' }))).toMatchObject({
      botLocaleStatus: 'Failed',
      failureReasons: ['Slot type OrderBotChoice has no values.'],
    });
    const waited = await waitUntilBotLocaleBuilt(
      { client: lex, maxWaitTime: 5, minDelay: 0.1, maxDelay: 0.2 },
      { botId, botVersion: 'DRAFT', localeId: 'de_DE' },
    ).catch((e: unknown) => e as Error);
    expect(waited).toBeInstanceOf(Error);
  });

  it('refuses: a numbered version (400), an unknown bot or locale (412; DescribeBotLocale: 404), a second build of the bot (409)', async () => {
    const { lex } = await lexWith({
      bots: [{ botId: 'BUILDBOT01', botName: 'Builder', versions: ['1'], locales: ['en_US', 'de_DE'] }],
      defaultFaults: { buildLatencyMs: 5000 },
    });
    const build = (botId: string, botVersion: string, localeId: string) => lex.send(new BuildBotLocaleCommand({ botId, botVersion, localeId }));
    await expect(build('BUILDBOT01', '1', 'en_US')).rejects.toMatchObject({ name: 'ValidationException', $metadata: { httpStatusCode: 400 } });
    await expect(build('NOSUCHBOT1', 'DRAFT', 'en_US')).rejects.toMatchObject({
      name: 'PreconditionFailedException',
      $metadata: { httpStatusCode: 412 },
    });
    await expect(build('BUILDBOT01', 'DRAFT', 'fr_FR')).rejects.toMatchObject({ name: 'PreconditionFailedException' });
    await expect(lex.send(new DescribeBotLocaleCommand({ botId: 'BUILDBOT01', botVersion: 'DRAFT', localeId: 'fr_FR' }))).rejects.toMatchObject({
      name: 'ResourceNotFoundException',
    });
    // A generated bot's locales are Built; a numbered version's always.
    expect((await lex.send(new DescribeBotLocaleCommand({ botId: 'BUILDBOT01', botVersion: '1', localeId: 'en_US' }))).botLocaleStatus).toBe('Built');
    await build('BUILDBOT01', 'DRAFT', 'en_US');
    await expect(build('BUILDBOT01', 'DRAFT', 'en_US')).rejects.toMatchObject({ name: 'ConflictException', $metadata: { httpStatusCode: 409 } });
    await expect(build('BUILDBOT01', 'DRAFT', 'de_DE')).rejects.toMatchObject({ name: 'ConflictException' });
    const listed = await lex.send(new ListBotLocalesCommand({ botId: 'BUILDBOT01', botVersion: 'DRAFT' }));
    expect(Object.fromEntries(listed.botLocaleSummaries!.map((l) => [l.localeId, l.botLocaleStatus]))).toEqual({ en_US: 'Building', de_DE: 'Built' });
  });

  it("buildConflictScope 'locale': another locale of the same bot builds alongside", async () => {
    const { lex } = await lexWith({
      bots: [{ botId: 'BUILDBOT01', botName: 'Builder', locales: ['en_US', 'de_DE'] }],
      defaultFaults: { buildLatencyMs: 5000 },
      buildConflictScope: 'locale',
    });
    await lex.send(new BuildBotLocaleCommand({ botId: 'BUILDBOT01', botVersion: 'DRAFT', localeId: 'en_US' }));
    await lex.send(new BuildBotLocaleCommand({ botId: 'BUILDBOT01', botVersion: 'DRAFT', localeId: 'de_DE' }));
    await expect(lex.send(new BuildBotLocaleCommand({ botId: 'BUILDBOT01', botVersion: 'DRAFT', localeId: 'en_US' }))).rejects.toMatchObject({
      name: 'ConflictException',
    });
  });

  it('maxParallelBuilds: a build beyond it is a 402 ServiceQuotaExceededException (or, parallelBuildRefusal, a ThrottlingException); once one ends, the next is accepted', async () => {
    const bots = ['A', 'B', 'C'].map((x) => ({ botId: `PARALLEL0${x}`, botName: `Parallel${x}` }));
    for (const refusal of ['ServiceQuotaExceededException', 'ThrottlingException'] as const) {
      const { sim, lex } = await lexWith({ bots, maxParallelBuilds: 2, parallelBuildRefusal: refusal, defaultFaults: { buildLatencyMs: 5000 } });
      sim.setFaults('PARALLEL0A', { buildLatencyMs: 400 });
      for (const b of bots.slice(0, 2)) await lex.send(new BuildBotLocaleCommand({ botId: b.botId, botVersion: 'DRAFT', localeId: 'en_US' }));
      const third = () => lex.send(new BuildBotLocaleCommand({ botId: 'PARALLEL0C', botVersion: 'DRAFT', localeId: 'en_US' }));
      await expect(third()).rejects.toMatchObject({
        name: refusal,
        $metadata: { httpStatusCode: refusal === 'ThrottlingException' ? 429 : 402 },
      });
      await sleep(450);
      await expect(third()).resolves.toMatchObject({ botLocaleStatus: 'Building' });
    }
  });
});

describe('Lex simulator: DeleteBot', () => {
  it('Deleting for deleteLatencyMs (DescribeBot, ListBots; no new export; an export in progress fails), then gone', async () => {
    const { lex } = await lexWith({
      bots: [
        { botId: 'SCRATCHB01', botName: 'botvault-drill-aaaa' },
        { botId: 'KEEPERBOT1', botName: 'Keeper' },
      ],
      faults: { SCRATCHB01: { deleteLatencyMs: 400, exportLatencyMs: 60_000 } },
    });
    const { exportId } = await lex.send(
      new CreateExportCommand({
        resourceSpecification: { botExportSpecification: { botId: 'SCRATCHB01', botVersion: 'DRAFT' } },
        fileFormat: 'LexJson',
      }),
    );
    const deleted = await lex.send(new DeleteBotCommand({ botId: 'SCRATCHB01', skipResourceInUseCheck: true }));
    expect(deleted).toMatchObject({ botId: 'SCRATCHB01', botStatus: 'Deleting', $metadata: { httpStatusCode: 202 } });
    expect((await lex.send(new DescribeBotCommand({ botId: 'SCRATCHB01' }))).botStatus).toBe('Deleting');
    const listed = (await lex.send(new ListBotsCommand({}))).botSummaries!;
    expect(Object.fromEntries(listed.map((b) => [b.botId, b.botStatus]))).toEqual({ KEEPERBOT1: 'Available', SCRATCHB01: 'Deleting' });
    expect(await lex.send(new DescribeExportCommand({ exportId }))).toMatchObject({
      exportStatus: 'Failed',
      failureReasons: ['The bot SCRATCHB01 was deleted while the export was in progress.'],
    });
    const exportIt = () =>
      lex.send(
        new CreateExportCommand({
          resourceSpecification: { botExportSpecification: { botId: 'SCRATCHB01', botVersion: 'DRAFT' } },
          fileFormat: 'LexJson',
        }),
      );
    await expect(exportIt()).rejects.toMatchObject({ name: 'ConflictException' });
    await expect(lex.send(new DeleteBotCommand({ botId: 'SCRATCHB01' }))).rejects.toMatchObject({ name: 'ConflictException' });

    await sleep(450);
    await expect(lex.send(new DescribeBotCommand({ botId: 'SCRATCHB01' }))).rejects.toMatchObject({
      name: 'ResourceNotFoundException',
      $metadata: { httpStatusCode: 404 },
    });
    expect((await lex.send(new ListBotsCommand({}))).botSummaries?.map((b) => b.botId)).toEqual(['KEEPERBOT1']);
    await expect(exportIt()).rejects.toMatchObject({ name: 'ResourceNotFoundException' });
    // DeleteBot declares no ResourceNotFoundException: a bot that is not there is a 412.
    await expect(lex.send(new DeleteBotCommand({ botId: 'SCRATCHB01' }))).rejects.toMatchObject({
      name: 'PreconditionFailedException',
      $metadata: { httpStatusCode: 412 },
    });
    await expect(lex.send(new DeleteBotCommand({ botId: 'bad id!' }))).rejects.toMatchObject({ name: 'ValidationException' });
  });

  it('a bot with an alias needs skipResourceInUseCheck (deleteInUseError; the test alias counts only with testAliasBlocksDelete); a bot being built is a 409', async () => {
    const prod = { botAliasId: 'PRODALIAS1', botAliasName: 'prod', botVersion: '1' };
    const test = { botAliasId: 'TSTALIASID', botAliasName: 'TestBotAlias', botVersion: 'DRAFT' };
    for (const deleteInUseError of ['ResourceInUseException', 'ConflictException', 'PreconditionFailedException'] as const) {
      const { lex } = await lexWith({
        bots: [{ botId: 'ALIASEDBOT', botName: 'Aliased', versions: ['1'], settings: { aliases: [test, prod] } }],
        deleteInUseError,
        defaultFaults: { deleteLatencyMs: 0 },
      });
      await expect(lex.send(new DeleteBotCommand({ botId: 'ALIASEDBOT' }))).rejects.toMatchObject({
        name: deleteInUseError,
        $metadata: { httpStatusCode: deleteInUseError === 'PreconditionFailedException' ? 412 : 409 },
      });
      await lex.send(new DeleteBotCommand({ botId: 'ALIASEDBOT', skipResourceInUseCheck: true }));
      await expect(lex.send(new DescribeBotCommand({ botId: 'ALIASEDBOT' }))).rejects.toMatchObject({ name: 'ResourceNotFoundException' });
    }
    const onlyTest = [{ botId: 'TESTONLY01', botName: 'TestOnly' }];
    const relaxed = await lexWith({ bots: onlyTest });
    await expect(relaxed.lex.send(new DeleteBotCommand({ botId: 'TESTONLY01' }))).resolves.toMatchObject({ botStatus: 'Deleting' });
    const strict = await lexWith({ bots: onlyTest, testAliasBlocksDelete: true, defaultFaults: { buildLatencyMs: 5000 } });
    await expect(strict.lex.send(new DeleteBotCommand({ botId: 'TESTONLY01' }))).rejects.toMatchObject({ name: 'ResourceInUseException' });
    await strict.lex.send(new BuildBotLocaleCommand({ botId: 'TESTONLY01', botVersion: 'DRAFT', localeId: 'en_US' }));
    await expect(strict.lex.send(new DeleteBotCommand({ botId: 'TESTONLY01', skipResourceInUseCheck: true }))).rejects.toMatchObject({
      name: 'ConflictException',
    });
  });

  it('through the Lex estate (SigV4 verified, query strings included): DeleteBot and UntagResource', async () => {
    const estate = await startLexEstate({
      credentials: new SimCredentials(),
      tenants: {
        [`${HOME.accountId}/${REGION}`]: { bots: [{ botId: 'ESTATEBOT1', botName: 'botvault-drill-e1', settings: { tags: { a: '1', b: '2' } } }] },
      },
    });
    const lex = new LexModelsV2Client({
      endpoint: estate.url,
      region: REGION,
      credentials: { accessKeyId: HOME.accessKeyId, secretAccessKey: HOME.secretAccessKey },
      maxAttempts: 1,
    });
    try {
      const arn = `arn:aws:lex:${REGION}:${HOME.accountId}:bot/ESTATEBOT1`;
      await lex.send(new UntagResourceCommand({ resourceARN: arn, tagKeys: ['a'] }));
      expect((await lex.send(new ListTagsForResourceCommand({ resourceARN: arn }))).tags).toEqual({ b: '2' });
      expect(await lex.send(new DeleteBotCommand({ botId: 'ESTATEBOT1', skipResourceInUseCheck: true }))).toMatchObject({ botStatus: 'Deleting' });
      expect(estate.calls.map((c) => [c.op, c.status])).toEqual([
        ['UntagResource', 200],
        ['ListTagsForResource', 200],
        ['DeleteBot', 202],
      ]);
    } finally {
      lex.destroy();
      await estate.close();
    }
  });
});

describe('Lex simulator: what a sweep sees, and the bots-per-account quota', () => {
  it('a bot created two days ago: DescribeBot creationDateTime and ListBots lastUpdatedDateTime say so', async () => {
    const twoDaysAgo = Date.now() - 2 * 86_400_000;
    const { lex } = await lexWith({
      bots: [{ botId: 'OLDSCRATCH', botName: 'botvault-drill-old', createdAt: twoDaysAgo, settings: { tags: DRILL_TAGS } }],
    });
    const d = await lex.send(new DescribeBotCommand({ botId: 'OLDSCRATCH' }));
    expect(Math.abs(d.creationDateTime!.getTime() - twoDaysAgo)).toBeLessThan(2);
    const [summary] = (await lex.send(new ListBotsCommand({ filters: [{ name: 'BotName', values: ['botvault-drill-'], operator: 'CO' }] })))
      .botSummaries!;
    expect(summary).toMatchObject({ botId: 'OLDSCRATCH', botStatus: 'Available' });
    expect(Math.abs(summary!.lastUpdatedDateTime!.getTime() - twoDaysAgo)).toBeLessThan(2);
  });

  it('maxBots: StartImport of a bot beyond it is a 402 ServiceQuotaExceededException; an import into an existing bot is not; a deleted bot frees its place', async () => {
    const { lex } = await lexWith({ bots: [{ botId: 'EXISTING01', botName: 'OrderBot' }], maxBots: 2, defaultFaults: { deleteLatencyMs: 100 } });
    const zip = await lexExportZip(orderBot());
    const first = await importAsNewBot(lex, zip, 'botvault-drill-q1');
    expect(first.importStatus).toBe('Completed');
    const refused = await importAsNewBot(lex, zip, 'botvault-drill-q2').catch(
      (e: unknown) => e as Error & { $metadata?: { httpStatusCode?: number } },
    );
    expect(refused).toMatchObject({ name: 'ServiceQuotaExceededException', $metadata: { httpStatusCode: 402 } });
    expect((refused as Error).message).toMatch(/maximum number of bots \(2\).*L-36FA8BD2/);
    // Into the existing bot (same name, Overwrite): no new bot, no quota.
    const { importId, uploadUrl } = await lex.send(new CreateUploadUrlCommand({}));
    await fetch(uploadUrl!, { method: 'PUT', body: zip });
    await lex.send(
      new StartImportCommand({
        importId,
        mergeStrategy: 'Overwrite',
        resourceSpecification: { botImportSpecification: { botName: 'OrderBot', roleArn: ROLE, dataPrivacy: { childDirected: false } } },
      }),
    );
    expect((await lex.send(new DescribeImportCommand({ importId }))).importStatus).toBe('Completed');
    // A bot still Deleting counts; once gone, its place is free.
    await lex.send(new DeleteBotCommand({ botId: first.importedResourceId!, skipResourceInUseCheck: true }));
    await expect(importAsNewBot(lex, zip, 'botvault-drill-q3')).rejects.toMatchObject({ name: 'ServiceQuotaExceededException' });
    await sleep(150);
    expect((await importAsNewBot(lex, zip, 'botvault-drill-q4')).importStatus).toBe('Completed');
  });

  it("botQuotaRefusal 'importFailed': StartImport is accepted and the import ends Failed with the quota", async () => {
    const { lex } = await lexWith({ maxBots: 0, botQuotaRefusal: 'importFailed' });
    const d = await importAsNewBot(lex, await lexExportZip(orderBot()), 'botvault-drill-q5');
    expect(d).toMatchObject({ importStatus: 'Failed', failureReasons: [expect.stringMatching(/maximum number of bots \(0\)/)] });
    expect((await lex.send(new ListBotsCommand({}))).botSummaries).toEqual([]);
  });
});

describe('Lex simulator: lossy imports', () => {
  it('drops the last N sample utterances of the named intents; the import says which, the re-export lacks them', async () => {
    const { sim, lex } = await lexWith({
      defaultFaults: { lossyImport: { dropUtterancesPerIntent: 3, intents: ['OrderFlowers'], locales: ['en_US'] } },
    });
    const archive = await lexExportZip(orderBot());
    const done = await importAsNewBot(lex, archive, 'botvault-drill-lossy', { idleSessionTTLInSeconds: 900 });
    expect(done.importStatus).toBe('Completed');
    // The import specification's settings are the bot's, in its export too.
    expect((await lex.send(new DescribeBotCommand({ botId: done.importedResourceId! }))).idleSessionTTLInSeconds).toBe(900);
    const losses = sim.imports.get(done.importId!)!.losses!;
    expect(losses.map((l) => l.summary)).toEqual(['intent OrderFlowers (en_US): 3 of 7 sample utterances missing']);
    expect(losses[0]).toMatchObject({
      localeId: 'en_US',
      intent: 'OrderFlowers',
      total: 7,
      dropped: ['flowers please', 'get me tulips', 'order lilies'],
    });

    const again = await exportOf(lex, done.importedResourceId!);
    expect(JSON.parse(again.get('botvault-drill-lossy/Bot.json')!).idleSessionTTLInSeconds).toBe(900);
    const root = 'botvault-drill-lossy/BotLocales';
    expect(utterancesOf(again, `${root}/en_US/Intents/OrderFlowers/Intent.json`)).toEqual([
      'order flowers',
      'I want flowers',
      'send roses',
      'buy a bouquet',
    ]);
    expect(utterancesOf(again, `${root}/de_DE/Intents/OrderFlowers/Intent.json`)).toHaveLength(7);
    expect(utterancesOf(again, `${root}/en_US/Intents/Greet/Intent.json`)).toHaveLength(3);
  });

  it('a fraction of every intent (rounded); all of them leaves sampleUtterances null; into an existing bot too', async () => {
    const { sim, lex } = await lexWith({ bots: [{ botId: 'ORDERBOT01', botName: 'OrderBot', locales: ['en_US', 'de_DE'] }] });
    sim.setFaults('ORDERBOT01', { lossyImport: { dropUtterancesPerIntent: 0.5, locales: ['de_DE'] } });
    const { importId, uploadUrl } = await lex.send(new CreateUploadUrlCommand({}));
    await fetch(uploadUrl!, { method: 'PUT', body: await lexExportZip(orderBot()) });
    await lex.send(
      new StartImportCommand({
        importId,
        mergeStrategy: 'Overwrite',
        resourceSpecification: { botImportSpecification: { botName: 'OrderBot', roleArn: ROLE, dataPrivacy: { childDirected: false } } },
      }),
    );
    expect((await lex.send(new DescribeImportCommand({ importId }))).importedResourceId).toBe('ORDERBOT01');
    expect(
      sim.imports
        .get(importId!)!
        .losses!.map((l) => l.summary)
        .sort(),
    ).toEqual(['intent Greet (de_DE): 2 of 3 sample utterances missing', 'intent OrderFlowers (de_DE): 4 of 7 sample utterances missing']);

    sim.setFaults('ORDERBOT01', { lossyImport: { dropUtterancesPerIntent: 99, intents: ['Greet'] } });
    const next = await lex.send(new CreateUploadUrlCommand({}));
    await fetch(next.uploadUrl!, { method: 'PUT', body: await lexExportZip(orderBot()) });
    await lex.send(
      new StartImportCommand({
        importId: next.importId,
        mergeStrategy: 'Overwrite',
        resourceSpecification: { botImportSpecification: { botName: 'OrderBot', roleArn: ROLE, dataPrivacy: { childDirected: false } } },
      }),
    );
    await lex.send(new DescribeImportCommand({ importId: next.importId }));
    const again = await exportOf(lex, 'ORDERBOT01');
    expect(JSON.parse(again.get('OrderBot/BotLocales/en_US/Intents/Greet/Intent.json')!).sampleUtterances).toBeNull();
    expect(utterancesOf(again, 'OrderBot/BotLocales/en_US/Intents/OrderFlowers/Intent.json')).toHaveLength(7);
  });
});
