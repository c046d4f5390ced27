/**
 * The Lex V2 simulator speaks the real restJson1 protocol: the real
 * LexModelsV2Client creates, describes, downloads, deletes and lists against
 * it, errors arrive in the SDK under their AWS names, and every fault does
 * what its name says on the wire.
 */
import { get as httpGet } from 'node:http';
import {
  CreateExportCommand,
  DeleteExportCommand,
  DescribeExportCommand,
  LexModelsV2Client,
  ListBotLocalesCommand,
  ListBotsCommand,
  ListBotVersionsCommand,
} from '@aws-sdk/client-lex-models-v2';
import { readZipEntries, ZipPasswordError } from '../../lib/core/archive/zip';
import { describe, expect, it } from 'vitest';
import { startLexSimulator, type LexFaults, type LexSimulator, type LexSimulatorOptions, type SimBot } from './lex-simulator';
import { closeAfterEach } from '../helpers/close-after-each';
import { rawGet } from '../helpers/raw-get';

const BOTS: SimBot[] = [
  { botId: 'ALPHABOT01', botName: 'Alpha', versions: ['1', '2'], locales: ['en_US', 'de_DE'], intents: ['Greet', 'OrderPizza'] },
  { botId: 'BRAVOBOT02', botName: 'Bravo', intents: ['Help'] },
];

const track = closeAfterEach();

async function start(opts: LexSimulatorOptions = {}): Promise<LexSimulator> {
  return track(await startLexSimulator({ bots: BOTS, ...opts }));
}

/** maxAttempts 1: the SDK would otherwise retry 429/409 itself and hide the fault. */
function client(s: LexSimulator, maxAttempts = 1): LexModelsV2Client {
  const c = new LexModelsV2Client({
    endpoint: s.url,
    region: 'us-east-1',
    credentials: { accessKeyId: 'AKIDSIM', secretAccessKey: 'secret' },
    maxAttempts,
  });
  return track(c);
}

const botExport = (botId: string, botVersion = 'DRAFT') =>
  new CreateExportCommand({ resourceSpecification: { botExportSpecification: { botId, botVersion } }, fileFormat: 'LexJson' });

/**
 * The container facts of a zip, read from its central directory: what real
 * Lex exports look like (made by 2.0 on FAT, flags 0x0808 — plus 0x0001 when
 * encrypted —, no directory entries, no extra fields, deflate; AES entries
 * show method 99 with the real method in their AES extra field, which is
 * then the only extra field).
 */
function zipContainer(zip: Buffer) {
  const eocd = zip.lastIndexOf(Buffer.from([0x50, 0x4b, 0x05, 0x06]));
  const count = zip.readUInt16LE(eocd + 10);
  let at = zip.readUInt32LE(eocd + 16);
  const made = new Set<number>();
  const flags = new Set<number>();
  const methods = new Set<number>();
  let directories = 0;
  let extraFields = 0;
  for (let i = 0; i < count; i++) {
    made.add(zip.readUInt16LE(at + 4));
    const flag = zip.readUInt16LE(at + 8);
    flags.add(flag);
    const method = zip.readUInt16LE(at + 10);
    methods.add(method);
    const nameLen = zip.readUInt16LE(at + 28);
    const extraLen = zip.readUInt16LE(at + 30);
    if (zip.toString('utf8', at + 46, at + 46 + nameLen).endsWith('/')) directories++;
    // An AES entry carries exactly its 11-byte AES extra field (0x9901); anything else is an extra field Lex does not write.
    if (extraLen > 0 && !(method === 99 && extraLen === 11 && zip.readUInt16LE(at + 46 + nameLen) === 0x9901)) extraFields++;
    at += 46 + nameLen + extraLen + zip.readUInt16LE(at + 32);
  }
  return { entries: count, versionMadeBy: [...made], flags: [...flags], directories, extraFields, methods: [...methods] };
}

async function zipEntries(zip: Buffer, password?: string): Promise<Map<string, string>> {
  const entries = await readZipEntries(zip, password ? { password } : {});
  return new Map([...entries].map(([name, data]) => [name, data.toString('utf8')]));
}

/** Create → Completed → the download URL (latency 0 completes on the first describe). */
async function completedUrl(s: LexSimulator, botId = 'ALPHABOT01'): Promise<{ exportId: string; url: string }> {
  const lex = client(s);
  const { exportId } = await lex.send(botExport(botId));
  const d = await lex.send(new DescribeExportCommand({ exportId }));
  expect(d.exportStatus).toBe('Completed');
  return { exportId: exportId!, url: d.downloadUrl! };
}

async function withFault(faults: LexFaults) {
  const s = await start({ faults: { ALPHABOT01: faults } });
  return { s, ...(await completedUrl(s)) };
}

describe('export lifecycle with the real SDK', () => {
  it('creates, describes, downloads and deletes an export; the archive is a Lex-shaped zip', async () => {
    const s = await start();
    const lex = client(s);

    const created = await lex.send(
      new CreateExportCommand({
        resourceSpecification: { botExportSpecification: { botId: 'ALPHABOT01', botVersion: 'DRAFT' } },
        fileFormat: 'LexJson',
        filePassword: 'hunter2-secret',
      }),
    );
    expect(created.$metadata.httpStatusCode).toBe(202);
    expect(created.exportId).toMatch(/^[A-Z0-9]{10}$/);
    expect(created.exportStatus).toBe('InProgress');
    expect(created.fileFormat).toBe('LexJson');
    expect(created.resourceSpecification).toEqual({ botExportSpecification: { botId: 'ALPHABOT01', botVersion: 'DRAFT' } });
    expect(created.creationDateTime).toBeInstanceOf(Date);
    expect(Math.abs(created.creationDateTime!.getTime() - Date.now())).toBeLessThan(60_000);
    // The password is accepted, never echoed nor kept.
    expect(JSON.stringify(created)).not.toContain('hunter2');
    expect(JSON.stringify([...s.exports.values()])).not.toContain('hunter2');

    const described = await lex.send(new DescribeExportCommand({ exportId: created.exportId }));
    expect(described.exportStatus).toBe('Completed');
    expect(described.failureReasons).toBeUndefined();
    expect(described.lastUpdatedDateTime).toBeInstanceOf(Date);
    expect(JSON.stringify(described)).not.toContain('hunter2');
    const url = new URL(described.downloadUrl!);
    expect(url.origin).toBe(s.url);
    expect(url.pathname).toBe(`/downloads/${created.exportId}`);
    expect(url.searchParams.get('X-Amz-Expires')).toBe('300');
    expect(url.searchParams.get('X-Amz-Date')).toMatch(/^\d{8}T\d{6}Z$/);
    expect(url.searchParams.get('X-Amz-Signature')).toMatch(/^[0-9a-f]{64}$/);

    // Each DescribeExport hands out a fresh URL; both work until they expire.
    const again = await lex.send(new DescribeExportCommand({ exportId: created.exportId }));
    expect(again.downloadUrl).not.toBe(described.downloadUrl);

    const dl = await rawGet(described.downloadUrl!);
    expect(dl.status).toBe(200);
    expect(dl.headers['content-type']).toBe('application/zip');
    expect(Number(dl.headers['content-length'])).toBe(dl.body.length);
    expect(dl.body.equals(s.archiveFor(created.exportId!))).toBe(true);
    expect((await rawGet(again.downloadUrl!)).body.equals(dl.body)).toBe(true);

    // filePassword: every entry is encrypted with it, as Lex does; without it nothing opens.
    await expect(zipEntries(dl.body)).rejects.toBeInstanceOf(ZipPasswordError);
    expect(dl.body.includes(Buffer.from('sampleUtterances'))).toBe(false);
    const entries = await zipEntries(dl.body, 'hunter2-secret');
    expect([...entries.keys()].sort()).toEqual(
      [
        'Manifest.json',
        'Alpha/Bot.json',
        ...['en_US', 'de_DE'].flatMap((l) => [
          `Alpha/BotLocales/${l}/BotLocale.json`,
          `Alpha/BotLocales/${l}/Intents/Greet/Intent.json`,
          `Alpha/BotLocales/${l}/Intents/Greet/Slots/Choice/Slot.json`,
          `Alpha/BotLocales/${l}/Intents/Greet/ConversationFlow.json`,
          `Alpha/BotLocales/${l}/Intents/OrderPizza/Intent.json`,
          `Alpha/BotLocales/${l}/Intents/FallbackIntent/Intent.json`,
          `Alpha/BotLocales/${l}/SlotTypes/AlphaChoice/SlotType.json`,
        ]),
      ].sort(),
    );
    // The real manifest: capital M, metaData, BOT, minified (its last two keys in either order).
    const manifest = entries.get('Manifest.json')!;
    expect(manifest).not.toMatch(/\s/);
    expect(JSON.parse(manifest)).toEqual({ metaData: { schemaVersion: '1', fileFormat: 'LexJson', resourceType: 'BOT' } });
    expect(JSON.parse(entries.get('Alpha/Bot.json')!)).toMatchObject({
      name: 'Alpha',
      identifier: 'ALPHABOT01',
      version: 'DRAFT',
      dataPrivacy: { childDirected: false },
    });
    expect(JSON.parse(entries.get('Alpha/BotLocales/en_US/BotLocale.json')!)).toMatchObject({ identifier: 'en_US', name: 'English (US)' });
    const intent = JSON.parse(entries.get('Alpha/BotLocales/en_US/Intents/Greet/Intent.json')!);
    expect(intent.slotPriorities).toEqual([{ priority: 1, slotName: 'Choice' }]);
    expect(JSON.parse(entries.get('Alpha/BotLocales/en_US/Intents/OrderPizza/Intent.json')!).sampleUtterances).toContainEqual({
      utterance: 'order pizza',
    });
    expect(JSON.parse(entries.get('Alpha/BotLocales/en_US/Intents/Greet/Slots/Choice/Slot.json')!).valueElicitationSetting.slotConstraint).toBe(
      'Required',
    );
    expect(JSON.parse(entries.get('Alpha/BotLocales/en_US/SlotTypes/AlphaChoice/SlotType.json')!).valueSelectionSetting.resolutionStrategy).toBe(
      'ORIGINAL_VALUE',
    );
    expect(zipContainer(dl.body)).toEqual({
      entries: entries.size,
      versionMadeBy: [20],
      flags: [0x0809],
      directories: 0,
      extraFields: 0,
      methods: [99],
    });

    const deleted = await lex.send(new DeleteExportCommand({ exportId: created.exportId }));
    expect(deleted.$metadata.httpStatusCode).toBe(202);
    expect(deleted.exportStatus).toBe('Deleting');
    expect(s.exports.get(created.exportId!)).toMatchObject({ exportId: created.exportId, botId: 'ALPHABOT01', deleted: true, status: 'Deleting' });
    expect((await lex.send(new DescribeExportCommand({ exportId: created.exportId }))).exportStatus).toBe('Deleting');
    // DeleteExport declares no ResourceNotFoundException: a gone export is 412 PreconditionFailedException.
    await expect(lex.send(new DeleteExportCommand({ exportId: created.exportId }))).rejects.toMatchObject({
      name: 'PreconditionFailedException',
      $metadata: { httpStatusCode: 412 },
    });
    // The archive is gone with the export, even for a URL that has not expired.
    expect((await rawGet(again.downloadUrl!)).status).toBe(404);

    expect(s.calls.map((c) => [c.op, c.status])).toEqual([
      ['CreateExport', 202],
      ['DescribeExport', 200],
      ['DescribeExport', 200],
      ['Download', 200],
      ['Download', 200],
      ['DeleteExport', 202],
      ['DescribeExport', 200],
      ['DeleteExport', 412],
      ['Download', 404],
    ]);
    expect(s.calls.every((c) => c.botId === 'ALPHABOT01' && c.exportId === created.exportId)).toBe(true);
  });

  it('is reached through AWS_ENDPOINT_URL_LEX_MODELS_V2 with no endpoint in code', async () => {
    const s = await start();
    const saved = process.env.AWS_ENDPOINT_URL_LEX_MODELS_V2;
    process.env.AWS_ENDPOINT_URL_LEX_MODELS_V2 = s.url;
    try {
      const lex = track(new LexModelsV2Client({ region: 'us-east-1', credentials: { accessKeyId: 'AKIDSIM', secretAccessKey: 'secret' } }));
      const res = await lex.send(new ListBotsCommand({}));
      expect(res.botSummaries?.map((b) => b.botId)).toEqual(['ALPHABOT01', 'BRAVOBOT02']);
      expect(s.calls).toEqual([{ op: 'ListBots', status: 200 }]);
    } finally {
      if (saved === undefined) delete process.env.AWS_ENDPOINT_URL_LEX_MODELS_V2;
      else process.env.AWS_ENDPOINT_URL_LEX_MODELS_V2 = saved;
    }
  });

  it('a locale export holds only that locale; custom vocabulary and test set exports have their own shapes', async () => {
    const s = await start({ testSets: ['TESTSET001'] });
    const lex = client(s);
    const { exportId } = await lex.send(
      new CreateExportCommand({
        resourceSpecification: { botLocaleExportSpecification: { botId: 'ALPHABOT01', botVersion: '1', localeId: 'de_DE' } },
        fileFormat: 'LexJson',
      }),
    );
    const entries = await zipEntries(s.archiveFor(exportId!));
    const names = [...entries.keys()];
    expect(JSON.parse(entries.get('Manifest.json')!).metaData.resourceType).toBe('BOT_LOCALE');
    expect(names).toContain('Alpha/BotLocales/de_DE/BotLocale.json');
    expect(names.filter((n) => n !== 'Manifest.json').every((n) => n.startsWith('Alpha/BotLocales/de_DE/'))).toBe(true);
    // An unpassworded export: the real container exactly (made by 2.0/FAT, 0x0808, deflate, nothing extra).
    expect(zipContainer(s.archiveFor(exportId!))).toEqual({
      entries: entries.size,
      versionMadeBy: [20],
      flags: [0x0808],
      directories: 0,
      extraFields: 0,
      methods: [8],
    });

    const vocab = await lex.send(
      new CreateExportCommand({
        resourceSpecification: { customVocabularyExportSpecification: { botId: 'ALPHABOT01', botVersion: 'DRAFT', localeId: 'en_US' } },
        fileFormat: 'TSV',
      }),
    );
    const vocabEntries = await zipEntries(s.archiveFor(vocab.exportId!));
    expect([...vocabEntries.keys()].sort()).toEqual(['Alpha/BotLocales/en_US/CustomVocabulary/CustomVocabulary.json', 'Manifest.json']);
    expect(JSON.parse(vocabEntries.get('Manifest.json')!).metaData).toMatchObject({ resourceType: 'CUSTOM_VOCABULARY', fileFormat: 'TSV' });

    const testSet = await lex.send(
      new CreateExportCommand({ resourceSpecification: { testSetExportSpecification: { testSetId: 'TESTSET001' } }, fileFormat: 'CSV' }),
    );
    expect(s.exports.get(testSet.exportId!)?.botId).toBeUndefined();
    expect([...(await zipEntries(s.archiveFor(testSet.exportId!))).keys()]).toEqual(['TESTSET001.csv']);
  });

  it('archives are snapshots: same entries while the bot is unchanged (not the same zip bytes), new entries after modifyBot, numbered versions immutable', async () => {
    const s = await start();
    const lex = client(s);
    const exportOf = async (botVersion: string) => s.archiveFor((await lex.send(botExport('ALPHABOT01', botVersion))).exportId!);

    const draft1 = await exportOf('DRAFT');
    const draft2 = await exportOf('DRAFT');
    const v2before = await exportOf('2');
    expect(await zipEntries(draft2)).toEqual(await zipEntries(draft1));
    expect(draft2.equals(draft1)).toBe(false);

    s.modifyBot('ALPHABOT01', { intents: ['Greet', 'OrderPizza', 'TrackDelivery'] });
    const draft3 = await exportOf('DRAFT');
    const v2after = await exportOf('2');
    const changed = await zipEntries(draft3);
    expect(changed).not.toEqual(await zipEntries(draft1));
    expect(changed.has('Alpha/BotLocales/en_US/Intents/TrackDelivery/Intent.json')).toBe(true);
    expect(await zipEntries(v2after)).toEqual(await zipEntries(v2before));
    // An export created before the change keeps serving its snapshot.
    expect((await zipEntries(draft1)).has('Alpha/BotLocales/en_US/Intents/TrackDelivery/Intent.json')).toBe(false);
  });
});

describe('discovery and paging', () => {
  const fleet: SimBot[] = Array.from({ length: 23 }, (_, i) => ({
    botId: `FLEET${String(i).padStart(5, '0')}`,
    botName: `Fleet${String(i).padStart(2, '0')}`,
    versions: ['1'],
  }));

  it('ListBots pages by maxResults and by the server-side page cap, with opaque tokens bound to the request', async () => {
    const s = await start({ bots: fleet });
    const lex = client(s);
    const pageSizes: number[] = [];
    const seen: string[] = [];
    let nextToken: string | undefined;
    do {
      const res = await lex.send(new ListBotsCommand({ maxResults: 7, nextToken }));
      pageSizes.push(res.botSummaries!.length);
      seen.push(...res.botSummaries!.map((b) => b.botName!));
      nextToken = res.nextToken;
    } while (nextToken);
    expect(pageSizes).toEqual([7, 7, 7, 2]);
    expect(seen).toEqual(fleet.map((b) => b.botName));

    // maxResults above the cap: pages of 10 and a nextToken all the same.
    const big = await lex.send(new ListBotsCommand({ maxResults: 100 }));
    expect(big.botSummaries).toHaveLength(10);
    expect(big.nextToken).toBeTruthy();
    expect(big.botSummaries![0]).toMatchObject({
      botId: 'FLEET00000',
      botName: 'Fleet00',
      botStatus: 'Available',
      latestBotVersion: '1',
      botType: 'Bot',
    });

    const filtered = await lex.send(
      new ListBotsCommand({
        filters: [{ name: 'BotName', values: ['Fleet2'], operator: 'CO' }],
        sortBy: { attribute: 'BotName', order: 'Descending' },
      }),
    );
    expect(filtered.botSummaries?.map((b) => b.botName)).toEqual(['Fleet22', 'Fleet21', 'Fleet20']);

    await expect(lex.send(new ListBotsCommand({ nextToken: 'garbage' }))).rejects.toMatchObject({
      name: 'ValidationException',
      $metadata: { httpStatusCode: 400 },
    });
    const tokenOfOtherList = (await lex.send(new ListBotVersionsCommand({ botId: 'FLEET00000', maxResults: 1 }))).nextToken;
    await expect(lex.send(new ListBotsCommand({ nextToken: tokenOfOtherList }))).rejects.toMatchObject({ name: 'ValidationException' });
  });

  it("ListBotVersions always includes DRAFT and pages; ListBotLocales lists a version's locales", async () => {
    const s = await start();
    const lex = client(s);
    const first = await lex.send(new ListBotVersionsCommand({ botId: 'ALPHABOT01', maxResults: 2 }));
    const second = await lex.send(new ListBotVersionsCommand({ botId: 'ALPHABOT01', maxResults: 2, nextToken: first.nextToken }));
    expect(first.botId).toBe('ALPHABOT01');
    expect([...first.botVersionSummaries!, ...second.botVersionSummaries!].map((v) => v.botVersion)).toEqual(['DRAFT', '2', '1']);
    expect(second.nextToken).toBeUndefined();
    expect(first.botVersionSummaries![0]).toMatchObject({ botName: 'Alpha', botStatus: 'Available' });
    expect(first.botVersionSummaries![0]!.creationDateTime).toBeInstanceOf(Date);

    const unversioned = await lex.send(new ListBotVersionsCommand({ botId: 'BRAVOBOT02' }));
    expect(unversioned.botVersionSummaries?.map((v) => v.botVersion)).toEqual(['DRAFT']);

    const locales = await lex.send(new ListBotLocalesCommand({ botId: 'ALPHABOT01', botVersion: '2', maxResults: 1 }));
    expect(locales).toMatchObject({ botId: 'ALPHABOT01', botVersion: '2' });
    expect(locales.botLocaleSummaries).toEqual([
      expect.objectContaining({ localeId: 'en_US', localeName: 'English (US)', botLocaleStatus: 'Built' }),
    ]);
    const rest = await lex.send(new ListBotLocalesCommand({ botId: 'ALPHABOT01', botVersion: '2', maxResults: 1, nextToken: locales.nextToken }));
    expect(rest.botLocaleSummaries?.map((l) => l.localeId)).toEqual(['de_DE']);
    expect(
      (await lex.send(new ListBotLocalesCommand({ botId: 'BRAVOBOT02', botVersion: 'DRAFT' }))).botLocaleSummaries?.map((l) => l.localeId),
    ).toEqual(['en_US']);
  });

  it('addBot makes a bot visible to later calls', async () => {
    const s = await start();
    s.addBot({ botId: 'LATEBOT003', botName: 'Late' });
    const res = await client(s).send(new ListBotsCommand({}));
    expect(res.botSummaries?.map((b) => b.botId)).toContain('LATEBOT003');
    expect(res.botSummaries?.find((b) => b.botId === 'LATEBOT003')?.latestBotVersion).toBeUndefined();
  });
});

describe('errors surface in the SDK under their AWS names', () => {
  const notFound = { name: 'ResourceNotFoundException', $metadata: { httpStatusCode: 404 } };
  const invalid = { name: 'ValidationException', $metadata: { httpStatusCode: 400 } };

  it('unknown bot, version, locale and export: ResourceNotFoundException (404)', async () => {
    const s = await start();
    const lex = client(s);
    await expect(lex.send(botExport('NOSUCHBOT9'))).rejects.toMatchObject(notFound);
    await expect(lex.send(botExport('ALPHABOT01', '7'))).rejects.toMatchObject(notFound);
    await expect(
      lex.send(
        new CreateExportCommand({
          resourceSpecification: { botLocaleExportSpecification: { botId: 'ALPHABOT01', botVersion: 'DRAFT', localeId: 'fr_FR' } },
          fileFormat: 'LexJson',
        }),
      ),
    ).rejects.toMatchObject(notFound);
    await expect(lex.send(new DescribeExportCommand({ exportId: 'NOSUCHEXP1' }))).rejects.toMatchObject(notFound);
    await expect(lex.send(new DeleteExportCommand({ exportId: 'NOSUCHEXP1' }))).rejects.toMatchObject({
      name: 'PreconditionFailedException',
      $metadata: { httpStatusCode: 412 },
    });
    await expect(lex.send(new ListBotVersionsCommand({ botId: 'NOSUCHBOT9' }))).rejects.toMatchObject(notFound);
    await expect(lex.send(new ListBotLocalesCommand({ botId: 'ALPHABOT01', botVersion: '9' }))).rejects.toMatchObject(notFound);
    await expect(lex.send(botExport('NOSUCHBOT9'))).rejects.toThrow(/NOSUCHBOT9/);
    expect(s.calls.filter((c) => c.op === 'CreateExport').every((c) => c.status === 404)).toBe(true);
  });

  it('invalid requests: ValidationException (400), on the wire as x-amzn-errortype + {"message"}', async () => {
    const s = await start();
    const lex = client(s);
    await expect(
      lex.send(
        new CreateExportCommand({
          resourceSpecification: { botExportSpecification: { botId: 'ALPHABOT01', botVersion: 'DRAFT' } },
          fileFormat: 'TSV',
        }),
      ),
    ).rejects.toMatchObject(invalid);
    await expect(lex.send(new CreateExportCommand({ resourceSpecification: {}, fileFormat: 'LexJson' }))).rejects.toMatchObject(invalid);
    await expect(lex.send(new ListBotsCommand({ maxResults: 0 }))).rejects.toMatchObject(invalid);

    const raw = await fetch(`${s.url}/exports/`, {
      method: 'PUT',
      headers: { authorization: 'AWS4-HMAC-SHA256 Credential=x', 'content-type': 'application/json' },
      body: '{"resourceSpecification": ',
    });
    expect(raw.status).toBe(400);
    expect(raw.headers.get('x-amzn-errortype')).toBe('ValidationException');
    expect(await raw.json()).toEqual({ message: expect.stringContaining('not valid JSON') });
  });

  it("malformed ids and versions: 400 ValidationException before any lookup (the service model's patterns)", async () => {
    const s = await start();
    const lex = client(s);
    await expect(lex.send(botExport('SHORT'))).rejects.toMatchObject(invalid);
    await expect(lex.send(botExport('ALPHABOT01', 'v1'))).rejects.toMatchObject(invalid);
    await expect(lex.send(botExport('ALPHABOT01', 'draft'))).rejects.toMatchObject(invalid);
    await expect(lex.send(new DescribeExportCommand({ exportId: 'not-an-id' }))).rejects.toMatchObject(invalid);
    await expect(lex.send(new DeleteExportCommand({ exportId: 'not-an-id' }))).rejects.toMatchObject(invalid);
    expect(s.calls.map((c) => c.status)).toEqual([400, 400, 400, 400, 400]);
  });

  it('a bot that is not Available refuses CreateExport: 409 while busy (Creating, Versioning), 412 when Failed; a NotBuilt locale still exports', async () => {
    const s = await start({
      bots: [
        { botId: 'CREATING01', botName: 'Creating', status: 'Creating' },
        { botId: 'VERSIONIN1', botName: 'Versioning', status: 'Versioning' },
        { botId: 'FAILEDBOT1', botName: 'Failed', status: 'Failed' },
        { botId: 'NOTBUILT01', botName: 'NotBuilt', locales: ['en_US', 'de_DE'], notBuiltLocales: ['de_DE'] },
      ],
    });
    const lex = client(s);
    await expect(lex.send(botExport('CREATING01'))).rejects.toMatchObject({ name: 'ConflictException', $metadata: { httpStatusCode: 409 } });
    await expect(lex.send(botExport('VERSIONIN1'))).rejects.toMatchObject({ name: 'ConflictException' });
    await expect(lex.send(botExport('FAILEDBOT1'))).rejects.toMatchObject({
      name: 'PreconditionFailedException',
      $metadata: { httpStatusCode: 412 },
    });
    const bots = await lex.send(new ListBotsCommand({}));
    expect(Object.fromEntries(bots.botSummaries!.map((b) => [b.botId, b.botStatus]))).toEqual({
      CREATING01: 'Creating',
      VERSIONIN1: 'Versioning',
      FAILEDBOT1: 'Failed',
      NOTBUILT01: 'Available',
    });
    const locales = await lex.send(new ListBotLocalesCommand({ botId: 'NOTBUILT01', botVersion: 'DRAFT' }));
    expect(Object.fromEntries(locales.botLocaleSummaries!.map((l) => [l.localeId, l.botLocaleStatus]))).toEqual({
      en_US: 'Built',
      de_DE: 'NotBuilt',
    });
    const { exportId } = await lex.send(
      new CreateExportCommand({
        resourceSpecification: { botLocaleExportSpecification: { botId: 'NOTBUILT01', botVersion: 'DRAFT', localeId: 'de_DE' } },
        fileFormat: 'LexJson',
      }),
    );
    expect((await zipEntries(s.archiveFor(exportId!))).has('NotBuilt/BotLocales/de_DE/BotLocale.json')).toBe(true);
  });

  it('an unsigned request is refused with 403 before anything else', async () => {
    const s = await start();
    const res = await fetch(`${s.url}/bots/`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' });
    expect(res.status).toBe(403);
    expect(res.headers.get('x-amzn-errortype')).toBe('UnrecognizedClientException');
    expect(await res.json()).toHaveProperty('message');
    expect(s.calls).toEqual([{ op: 'ListBots', status: 403 }]);
  });
});

describe('faults', () => {
  it('exportLatencyMs: InProgress until the latency has passed, then Completed', async () => {
    const s = await start({ defaultFaults: { exportLatencyMs: 1000 } });
    const lex = client(s);
    const { exportId } = await lex.send(botExport('BRAVOBOT02'));
    const early = await lex.send(new DescribeExportCommand({ exportId }));
    expect(early.exportStatus).toBe('InProgress');
    expect(early.downloadUrl).toBeUndefined();
    expect(s.exports.get(exportId!)?.status).toBe('InProgress');
    await new Promise((r) => setTimeout(r, 1050));
    expect((await lex.send(new DescribeExportCommand({ exportId }))).exportStatus).toBe('Completed');
    expect(s.exports.get(exportId!)?.status).toBe('Completed');
  });

  it('failExport: Failed with the given reasons (true: a generic one), no URL, no archive', async () => {
    const s = await start({ faults: { ALPHABOT01: { failExport: ['Bot locale en_US is not built'] }, BRAVOBOT02: { failExport: true } } });
    const lex = client(s);
    const a = await lex.send(botExport('ALPHABOT01'));
    const da = await lex.send(new DescribeExportCommand({ exportId: a.exportId }));
    expect(da).toMatchObject({ exportStatus: 'Failed', failureReasons: ['Bot locale en_US is not built'] });
    expect(da.downloadUrl).toBeUndefined();
    expect(() => s.archiveFor(a.exportId!)).toThrow(/no archive/);
    const b = await lex.send(botExport('BRAVOBOT02'));
    const db = await lex.send(new DescribeExportCommand({ exportId: b.exportId }));
    expect(db.exportStatus).toBe('Failed');
    expect(db.failureReasons?.length).toBe(1);
  });

  it('neverFinish: InProgress on every describe', async () => {
    const s = await start({ faults: { ALPHABOT01: { neverFinish: true } } });
    const lex = client(s);
    const { exportId } = await lex.send(botExport('ALPHABOT01'));
    for (let i = 0; i < 3; i++) expect((await lex.send(new DescribeExportCommand({ exportId }))).exportStatus).toBe('InProgress');
  });

  it('throttleCreate / throttleDescribe / conflictCreate: the first N calls fail with 429 / 409, then calls succeed', async () => {
    const s = await start({ faults: { ALPHABOT01: { throttleCreate: 2, conflictCreate: 1, throttleDescribe: 1 } } });
    const lex = client(s);
    await expect(lex.send(botExport('ALPHABOT01'))).rejects.toMatchObject({ name: 'ThrottlingException', $metadata: { httpStatusCode: 429 } });
    await expect(lex.send(botExport('ALPHABOT01'))).rejects.toMatchObject({ name: 'ThrottlingException' });
    await expect(lex.send(botExport('ALPHABOT01'))).rejects.toMatchObject({ name: 'ConflictException', $metadata: { httpStatusCode: 409 } });
    const { exportId } = await lex.send(botExport('ALPHABOT01'));
    await expect(lex.send(new DescribeExportCommand({ exportId }))).rejects.toMatchObject({ name: 'ThrottlingException' });
    expect((await lex.send(new DescribeExportCommand({ exportId }))).exportStatus).toBe('Completed');
    // Other bots are not affected.
    await expect(lex.send(botExport('BRAVOBOT02'))).resolves.toMatchObject({ exportStatus: 'InProgress' });
    expect(s.calls.map((c) => `${c.op}:${c.status}`)).toEqual([
      'CreateExport:429',
      'CreateExport:429',
      'CreateExport:409',
      'CreateExport:202',
      'DescribeExport:429',
      'DescribeExport:200',
      'CreateExport:202',
    ]);
  });

  it('throttling is retried by the SDK itself with its default attempts (so faults must exceed them to reach the caller)', async () => {
    const s = await start({ faults: { ALPHABOT01: { throttleCreate: 1 } } });
    const res = await client(s, 3).send(botExport('ALPHABOT01'));
    expect(res.$metadata.attempts).toBe(2);
    expect(s.calls.map((c) => c.status)).toEqual([429, 202]);
  });

  it('throttling answers carry Retry-After, and the SDK waits that long before its retry', async () => {
    const s = await start({ faults: { ALPHABOT01: { throttleCreate: 1, retryAfterSeconds: 2 } } });
    const raw = await fetch(`${s.url}/exports/`, {
      method: 'PUT',
      headers: { authorization: 'AWS4-HMAC-SHA256 Credential=x', 'content-type': 'application/json' },
      body: JSON.stringify({
        resourceSpecification: { botExportSpecification: { botId: 'ALPHABOT01', botVersion: 'DRAFT' } },
        fileFormat: 'LexJson',
      }),
    });
    expect(raw.status).toBe(429);
    expect(raw.headers.get('retry-after')).toBe('2');
    s.setFaults('ALPHABOT01', { throttleCreate: 1, retryAfterSeconds: 2 });
    const started = Date.now();
    const res = await client(s, 3).send(botExport('ALPHABOT01'));
    expect(res.$metadata.attempts).toBe(2);
    // Without the header the SDK's first backoff is at most ~100 ms: the wait is the header's.
    expect(Date.now() - started).toBeGreaterThanOrEqual(1500);
  });

  it("setFaults changes a bot's faults and restarts its counters", async () => {
    const s = await start();
    const lex = client(s);
    s.setFaults('BRAVOBOT02', { throttleCreate: 1 });
    await expect(lex.send(botExport('BRAVOBOT02'))).rejects.toMatchObject({ name: 'ThrottlingException' });
    await lex.send(botExport('BRAVOBOT02'));
    s.setFaults('BRAVOBOT02', { throttleCreate: 1 });
    await expect(lex.send(botExport('BRAVOBOT02'))).rejects.toMatchObject({ name: 'ThrottlingException' });
  });

  it('download truncate: full Content-Length promised, half the bytes sent, then the connection ends', async () => {
    const { s, exportId, url } = await withFault({ download: 'truncate' });
    const res = await rawGet(url);
    const archive = s.archiveFor(exportId);
    expect(res.status).toBe(200);
    expect(Number(res.headers['content-length'])).toBe(archive.length);
    expect(res.error).toBeDefined();
    expect(res.body.length).toBe(Math.floor(archive.length / 2));
    expect(res.body.equals(archive.subarray(0, res.body.length))).toBe(true);
  });

  it('download reset: chunked body, then the socket is destroyed mid-body', async () => {
    const { s, exportId, url } = await withFault({ download: 'reset' });
    const res = await rawGet(url);
    expect(res.status).toBe(200);
    expect(res.headers['transfer-encoding']).toBe('chunked');
    expect(res.headers['content-length']).toBeUndefined();
    expect(res.error).toBeDefined();
    expect(res.body.length).toBeLessThan(s.archiveFor(exportId).length);
  });

  it('download drip: a byte at a time, slowly (the client must give up on its own)', async () => {
    const { s, exportId, url } = await withFault({ download: 'drip' });
    // Wait for the first byte (however loaded the machine), then look again a little later.
    const received = await new Promise<{ bytes: number; length: number }>((resolve) => {
      let bytes = 0;
      const req = httpGet(url, (res) => {
        res.on('data', (c: Buffer) => {
          if (bytes === 0) {
            setTimeout(() => {
              resolve({ bytes, length: Number(res.headers['content-length']) });
              req.destroy();
            }, 600);
          }
          bytes += c.length;
        });
      });
    });
    expect(received.length).toBe(s.archiveFor(exportId).length);
    expect(received.bytes).toBeGreaterThanOrEqual(1);
    // At one byte per 200 ms, 600 ms bring a handful of bytes of the ~2 KB archive.
    expect(received.bytes).toBeLessThan(20);
  });

  it('download empty: 200 with no bytes; notzip: 200 with bytes that are no zip', async () => {
    const empty = await withFault({ download: 'empty' });
    const e = await rawGet(empty.url);
    expect(e.status).toBe(200);
    expect(e.body.length).toBe(0);
    await empty.s.close();

    const junk = await withFault({ download: 'notzip' });
    const j = await rawGet(junk.url);
    expect(j.status).toBe(200);
    expect(j.body.length).toBeGreaterThan(0);
    expect(j.body.subarray(0, 4).equals(Buffer.from([0x50, 0x4b, 0x03, 0x04]))).toBe(false);
  });

  it("download forbidden: always 403 with S3's XML AccessDenied; forbiddenOnce: only the first download of an export", async () => {
    const f = await withFault({ download: 'forbidden' });
    for (let i = 0; i < 2; i++) {
      const res = await rawGet(f.url);
      expect(res.status).toBe(403);
      expect(res.headers['content-type']).toBe('application/xml');
      expect(res.body.toString()).toMatch(/<Code>AccessDenied<\/Code><Message>Request has expired<\/Message>/);
    }
    await f.s.close();

    const once = await withFault({ download: 'forbiddenOnce' });
    expect((await rawGet(once.url)).status).toBe(403);
    const second = await rawGet(once.url);
    expect(second.status).toBe(200);
    expect(second.body.equals(once.s.archiveFor(once.exportId))).toBe(true);
    expect(once.s.calls.filter((c) => c.op === 'Download').map((c) => c.status)).toEqual([403, 200]);
  });

  it('download redirectInternal: 302 to the instance metadata address', async () => {
    const { url } = await withFault({ download: 'redirectInternal' });
    const res = await rawGet(url);
    expect(res.status).toBe(302);
    expect(res.headers.location).toBe('http://169.254.169.254/latest/meta-data/');
  });

  it('download URLs expire (urlTtlMs) and a tampered signature is refused', async () => {
    const s = await start({ urlTtlMs: 100 });
    const { url } = await completedUrl(s);
    const tampered = new URL(url);
    tampered.searchParams.set('X-Amz-Signature', '0'.repeat(64));
    const bad = await rawGet(tampered.toString());
    expect(bad.status).toBe(403);
    expect(bad.body.toString()).toContain('<Code>SignatureDoesNotMatch</Code>');
    const otherExport = url.replace(/\/downloads\/[^?]+/, '/downloads/BRAVOEXP01');
    expect((await rawGet(otherExport)).status).toBe(403);

    await new Promise((r) => setTimeout(r, 150));
    const expired = await rawGet(url);
    expect(expired.status).toBe(403);
    expect(expired.body.toString()).toContain('<Message>Request has expired</Message>');
  });
});
