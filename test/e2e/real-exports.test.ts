/**
 * Every Lex export kind, in the real format, end to end: backed up by the
 * synthesized workflow into versioned S3 (OpenStack Swift), unchanged on the
 * next run, changed when the bot changes, diffed and restored by the real
 * command line — a bot, a locale and a custom vocabulary, and two
 * password-protected bots (one exported with WinZip AES-256, one with
 * ZipCrypto: which one Lex uses is unconfirmed). A test set is backed up and
 * diffed; restoring it is refused with what to do instead.
 *
 * The export password is a sentinel: it must appear nowhere in the
 * execution's events, the run manifests, the handlers' logs, object metadata,
 * the restore sidecars or the CLI's output.
 *
 * The tests share one bucket and run in order.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { GetObjectCommand, HeadObjectCommand } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readZipEntries, ZipPasswordError } from '../../lib/core/archive/zip';
import { runLocal, type LocalRunResult } from '../../lib/local/runner';
import { comparableEntries } from '../generators/normalize';
import { writeZip } from '../generators/zip-writer';
import { startCliHarness, type CliHarness, type CliResult } from './cli-harness';
import { restoreInfoKey } from '../../lib/core/names';
import { withCapturedLogs } from '../helpers/capture-logs';

const SENTINEL_PASSWORD = 'SENTINEL-lex-file-password-3c9d71';
const PASSWORD_SECRET = 'botvault/lex-password';
const REGION = 'us-east-1';

const T = {
  bot: { target: 'lex:ALPHABOT01:DRAFT', key: `lex/123456789012/${REGION}/ALPHABOT01/DRAFT/bot.zip` },
  locale: { target: 'lex:ALPHABOT01:DRAFT:de_DE', key: `lex/123456789012/${REGION}/ALPHABOT01/DRAFT/locales/de_DE.zip` },
  vocabulary: {
    target: 'lex:ALPHABOT01:DRAFT:en_US:custom-vocabulary',
    key: `lex/123456789012/${REGION}/ALPHABOT01/DRAFT/locales/en_US/custom-vocabulary.zip`,
  },
  testSet: { target: 'lex:test-set:TESTSET001', key: `lex/123456789012/${REGION}/test-sets/TESTSET001/test-set.zip` },
  aes: { target: 'lex:BRAVOBOT02:DRAFT', key: `lex/123456789012/${REGION}/BRAVOBOT02/DRAFT/bot.zip` },
  zipcrypto: { target: 'lex:CHARLIE003:DRAFT', key: `lex/123456789012/${REGION}/CHARLIE003/DRAFT/bot.zip` },
} as const;

let h: CliHarness;
let lexEnv: Record<string, string>;
const runs: LocalRunResult[] = [];
const cliResults: CliResult[] = [];
const logLines: string[] = [];

beforeAll(async () => {
  h = await startCliHarness({
    s3: 'swift',
    stackName: 'BotVaultRealExportsE2E',
    testSets: ['TESTSET001'],
    secrets: { [PASSWORD_SECRET]: JSON.stringify({ password: SENTINEL_PASSWORD }) },
    bots: [
      { botId: 'ALPHABOT01', botName: 'Alpha', locales: ['en_US', 'de_DE'], intents: ['Greet', 'Order'] },
      { botId: 'BRAVOBOT02', botName: 'Bravo', locales: ['en_US'], intents: ['Help'], exportEncryption: 'aes256' },
      { botId: 'CHARLIE003', botName: 'Charlie', locales: ['en_US'], intents: ['Book'], exportEncryption: 'zipcrypto' },
      // Not backed up: the destination of a restore into another existing bot.
      { botId: 'DELTABOT04', botName: 'Delta', locales: ['en_US'], intents: ['Other'] },
    ],
    targets: [
      { provider: 'lex', botId: 'ALPHABOT01', botVersion: 'DRAFT' },
      { provider: 'lex', botId: 'ALPHABOT01', botVersion: 'DRAFT', localeId: 'de_DE' },
      { provider: 'lex', botId: 'ALPHABOT01', botVersion: 'DRAFT', localeId: 'en_US', customVocabulary: true },
      { provider: 'lex', testSetId: 'TESTSET001' },
      { provider: 'lex', botId: 'BRAVOBOT02', botVersion: 'DRAFT', passwordSecret: PASSWORD_SECRET },
      { provider: 'lex', botId: 'CHARLIE003', botVersion: 'DRAFT', passwordSecret: PASSWORD_SECRET },
    ],
  });
  lexEnv = { AWS_ENDPOINT_URL_LEX_MODELS_V2: h.lex.url };
});
afterAll(async () => h?.close());

/** A run of the synthesized workflow, its handlers' logs captured (at DEBUG) for the sentinel check. */
async function backUp(runId: string): Promise<LocalRunResult> {
  const run = await withCapturedLogs(logLines, () => runLocal({ config: h.config, bucket: h.bucket, fast: true, runId }));
  runs.push(run);
  return run;
}

const statusOf = (run: LocalRunResult) => Object.fromEntries(run.manifest!.results.map((r) => [r.target, r.status]));

async function cli(args: string[], env: Record<string, string> = {}): Promise<CliResult> {
  const res = await h.cli([...args, '--config', h.configFile], { env });
  cliResults.push(res);
  return res;
}

/** The key's version ids from `botvault list --json`, newest first. */
async function versionsOf(t: { target: string; key: string }): Promise<string[]> {
  const res = await cli(['list', t.target, '--json']);
  expect(res.code).toBe(0);
  return (JSON.parse(res.stdout) as { key: string; versionId: string; lastModified: string }[])
    .filter((r) => r.key === t.key)
    .sort((a, b) => b.lastModified.localeCompare(a.lastModified))
    .map((r) => r.versionId);
}

async function stored(key: string, versionId?: string): Promise<Buffer> {
  const res = await h.s3.send(new GetObjectCommand({ Bucket: h.bucket, Key: key, ...(versionId ? { VersionId: versionId } : {}) }));
  return Buffer.from(await res.Body!.transformToByteArray());
}

describe('real-format exports through backup, change detection, diff and restore', () => {
  it('the first run stores every kind as Lex exports it; password-protected bots stay encrypted at rest', async () => {
    const run = await backUp('real-1');
    expect(run.status).toBe('SUCCEEDED');
    expect(Object.values(statusOf(run))).toEqual(Array(6).fill('SUCCEEDED'));

    const type = async (key: string, password?: string) => {
      const entries = await readZipEntries(await stored(key), password ? { password } : {});
      return (JSON.parse(entries.get('Manifest.json')?.toString('utf8') ?? 'null') as { metaData?: { resourceType?: string } } | null)?.metaData
        ?.resourceType;
    };
    expect(await type(T.bot.key)).toBe('BOT');
    expect(await type(T.locale.key)).toBe('BOT_LOCALE');
    expect(await type(T.vocabulary.key)).toBe('CUSTOM_VOCABULARY');
    expect(await type(T.testSet.key)).toBeUndefined();
    for (const t of [T.aes, T.zipcrypto]) {
      await expect(readZipEntries(await stored(t.key))).rejects.toBeInstanceOf(ZipPasswordError);
      expect(await type(t.key, SENTINEL_PASSWORD)).toBe('BOT');
      const head = await h.s3.send(new HeadObjectCommand({ Bucket: h.bucket, Key: t.key }));
      expect(head.Metadata?.['password-secret']).toBe(PASSWORD_SECRET);
      expect(head.Metadata?.['content-sha256']).toMatch(/^[0-9a-f]{64}$/);
    }
  });

  it('a second run of unchanged bots writes nothing: every kind UNCHANGED, password-protected ones included', async () => {
    const run = await backUp('real-2');
    expect(run.status).toBe('SUCCEEDED');
    expect(statusOf(run)).toEqual(Object.fromEntries(Object.values(T).map((t) => [t.target, 'UNCHANGED'])));
  });

  it('changed bots get a new version; `botvault diff` shows the change, decrypting where needed', async () => {
    h.lex.modifyBot('ALPHABOT01', { intents: ['Greet', 'Cancel'], vocabulary: { locale: 'en_US', phrases: ['Alpha', 'zinnia'] } });
    h.lex.modifyBot('BRAVOBOT02', { intents: ['Help', 'Escalate'] });
    h.lex.modifyBot('CHARLIE003', { intents: ['Book', 'Cancel'] });
    const run = await backUp('real-3');
    expect(statusOf(run)).toEqual({
      [T.bot.target]: 'SUCCEEDED',
      [T.locale.target]: 'SUCCEEDED',
      [T.vocabulary.target]: 'SUCCEEDED',
      [T.testSet.target]: 'UNCHANGED',
      [T.aes.target]: 'SUCCEEDED',
      [T.zipcrypto.target]: 'SUCCEEDED',
    });

    // Reads only: the six diffs run at once.
    const [bot, locale, vocabulary, aes, zipcrypto, testSet] = await Promise.all([
      cli(['diff', T.bot.target]),
      cli(['diff', T.locale.target]),
      cli(['diff', T.vocabulary.target, '--files']),
      cli(['diff', T.aes.target], lexEnv),
      cli(['diff', T.zipcrypto.target], lexEnv),
      cli(['diff', T.testSet.target]),
    ]);
    expect(bot.code).toBe(0);
    expect(bot.stdout).toContain('added    Alpha/BotLocales/en_US/Intents/Cancel/Intent.json\n');
    expect(bot.stdout).toContain('removed  Alpha/BotLocales/de_DE/Intents/Order/Intent.json\n');
    expect(locale.stdout).toContain('added    Alpha/BotLocales/de_DE/Intents/Cancel/Intent.json\n');
    expect(vocabulary.stdout).toContain('changed  Alpha/BotLocales/en_US/CustomVocabulary/CustomVocabulary.json\n');
    expect(vocabulary.stdout).toMatch(/\n\+\s+"phrase": "zinnia",\n/);
    expect(vocabulary.stdout).toMatch(/\n {2}en_US: custom vocabulary \+1 phrase\n/);
    for (const [res, intent] of [
      [aes, 'Bravo/BotLocales/en_US/Intents/Escalate/Intent.json'],
      [zipcrypto, 'Charlie/BotLocales/en_US/Intents/Cancel/Intent.json'],
    ] as const) {
      expect(res.stderr).toBe('');
      expect(res.code).toBe(0);
      expect(res.stdout).toContain(`added    ${intent}\n`);
    }
    // A test set has one version so far: nothing to compare, said in one line.
    expect(testSet.code).toBe(2);
    expect(testSet.stderr).toMatch(/has no version older than/);
  });

  it('restores the previous bot, locale and vocabulary versions; the next backup holds exactly their entries', async () => {
    for (const t of [T.bot, T.locale, T.vocabulary]) {
      const versions = await versionsOf(t);
      expect(versions.length).toBe(2);
      const original = versions[1]!;
      const dry = await cli(['restore', t.target, '--version', original, '--merge', 'Overwrite', '--dry-run'], lexEnv);
      expect(dry.stderr).toBe('');
      expect(dry.code).toBe(0);
      expect(dry.stdout).toMatch(
        /^dry run: .* verified, MAC authentic, \d+ entries\) can be restored into existing bot Alpha \(ALPHABOT01\), merge Overwrite\n/,
      );
      const res = await cli(['restore', t.target, '--version', original, '--merge', 'Overwrite', '--poll-ms', '50'], lexEnv);
      expect(res.stderr).toBe('');
      expect(res.code).toBe(0);
      expect(res.stdout).toMatch(/: COMPLETED; bot Alpha \(ALPHABOT01\) holds the archive's definition\n$/);
      const spec = [...h.lex.imports.values()].at(-1)!.spec as Record<string, unknown>;
      expect(Object.keys(spec)).toEqual([
        t === T.bot ? 'botImportSpecification' : t === T.locale ? 'botLocaleImportSpecification' : 'customVocabularyImportSpecification',
      ]);
    }
    const run = await backUp('real-4');
    expect(run.status).toBe('SUCCEEDED');
    for (const t of [T.bot, T.locale, T.vocabulary]) {
      const versions = await versionsOf(t);
      // The restored definition is the first version's, by value (Lex may order keys and entries differently).
      expect(comparableEntries(await readZipEntries(await stored(t.key)))).toEqual(
        comparableEntries(await readZipEntries(await stored(t.key, versions.at(-1)))),
      );
    }
  });

  it('a password-protected export restores with its password passed to StartImport (either cipher), never shown', async () => {
    for (const t of [T.aes, T.zipcrypto]) {
      const versions = await versionsOf(t);
      const original = versions.at(-1)!;
      const res = await cli(['restore', t.target, '--version', original, '--merge', 'Overwrite', '--poll-ms', '50'], lexEnv);
      expect(res.stderr).toBe('');
      expect(res.code).toBe(0);
      expect([...h.lex.imports.values()].at(-1)).toMatchObject({ status: 'Completed' });
    }
    const run = await backUp('real-5');
    for (const t of [T.aes, T.zipcrypto]) {
      const versions = await versionsOf(t);
      const now = comparableEntries(await readZipEntries(await stored(t.key), { password: SENTINEL_PASSWORD }));
      const first = comparableEntries(await readZipEntries(await stored(t.key, versions.at(-1)), { password: SENTINEL_PASSWORD }));
      expect(now).toEqual(first);
    }
    expect(run.status).toBe('SUCCEEDED');
  });

  it("restores a bot archive into another existing bot (--to-bot ID): that bot takes the archive's definition", async () => {
    const original = (await versionsOf(T.bot)).at(-1)!;
    const res = await cli(
      ['restore', T.bot.target, '--version', original, '--to-bot', 'DELTABOT04', '--merge', 'Overwrite', '--poll-ms', '50'],
      lexEnv,
    );
    expect(res.stderr).toBe('');
    expect(res.code).toBe(0);
    expect(res.stdout).toContain('into existing bot Delta (DELTABOT04), merge Overwrite\n');
    expect([...h.lex.imports.values()].at(-1)).toMatchObject({ status: 'Completed', importedResourceId: 'DELTABOT04' });
    const { LexModelsV2Client, CreateExportCommand, DescribeExportCommand } = await import('@aws-sdk/client-lex-models-v2');
    const lex = new LexModelsV2Client({ endpoint: h.lex.url, region: REGION });
    try {
      const { exportId } = await lex.send(
        new CreateExportCommand({
          resourceSpecification: { botExportSpecification: { botId: 'DELTABOT04', botVersion: 'DRAFT' } },
          fileFormat: 'LexJson',
        }),
      );
      await new Promise((r) => setTimeout(r, 200));
      const d = await lex.send(new DescribeExportCommand({ exportId }));
      const names = [...(await readZipEntries(Buffer.from(await (await fetch(d.downloadUrl!)).arrayBuffer()))).keys()];
      expect(names).toContain('Delta/BotLocales/de_DE/Intents/Order/Intent.json');
      expect(names.some((n) => n.includes('/Intents/Other/'))).toBe(false);
    } finally {
      lex.destroy();
    }
  });

  it('an unpacked bot folder (Bot.json at the root, no manifest) is listable, gettable and diffable; restore refuses it saying what is missing', async () => {
    const key = `lex/123456789012/${REGION}/ECHOBOT005/DRAFT/bot.zip`;
    const folder = (utterance: string) =>
      writeZip(
        [
          { name: 'Bot.json', data: '{"name":"Echo","identifier":"ECHOBOT005","version":"DRAFT"}' },
          { name: 'BotLocales/en_US/Intents/Hi/Intent.json', data: JSON.stringify({ name: 'Hi', sampleUtterances: [{ utterance }] }) },
        ],
        { mtime: new Date(), style: 'plain' },
      );
    for (const utterance of ['hello', 'hi there']) {
      const body = await folder(utterance);
      await h.putAsStack('archive', key, body, { source: 'lex:ECHOBOT005:DRAFT' });
    }
    expect(await versionsOf({ target: 'lex:ECHOBOT005:DRAFT', key })).toHaveLength(2);
    const diff = await cli(['diff', 'lex:ECHOBOT005:DRAFT']);
    expect(diff.stderr).toBe('');
    expect(diff.code).toBe(0);
    expect(diff.stdout).toContain('changed  BotLocales/en_US/Intents/Hi/Intent.json\n');
    const got = await cli(['get', 'lex:ECHOBOT005:DRAFT', '--output', join(h.dir, 'echo.zip')]);
    expect(got.code).toBe(0);
    expect((await readZipEntries(readFileSync(join(h.dir, 'echo.zip')))).has('Bot.json')).toBe(true);
    const restore = await cli(['restore', 'lex:ECHOBOT005:DRAFT', '--dry-run'], lexEnv);
    expect(restore.code).toBe(2);
    expect(restore.stderr).toMatch(
      /has no Manifest\.json at its root, so it is not a Lex export and Lex would not import it: it holds an unpacked bot folder \(Bot\.json at the root\)/,
    );
  });

  it('a test set is backed up, but restoring one is refused with what to do instead', async () => {
    const res = await cli(['restore', T.testSet.target, '--dry-run'], lexEnv);
    expect(res.code).toBe(2);
    expect(res.stderr).toMatch(/test set archives cannot be restored by botvault; download it with `botvault get`/);
  });

  it('sentinel: the export password appears nowhere in events, manifests, logs, metadata, sidecars or CLI output', async () => {
    expect(runs.length).toBe(5);
    expect(logLines.join('')).toContain(T.aes.target); // the capture worked
    const haystacks: Record<string, string> = {
      events: JSON.stringify(runs.map((r) => r.events)),
      manifests: JSON.stringify(runs.map((r) => r.manifest)),
      logs: logLines.join(''),
      cli: JSON.stringify(cliResults),
    };
    for (const t of Object.values(T)) {
      const head = await h.s3.send(new HeadObjectCommand({ Bucket: h.bucket, Key: t.key }));
      haystacks[`metadata ${t.key}`] = JSON.stringify(head.Metadata);
      if (t !== T.testSet) haystacks[`sidecar ${t.key}`] = (await stored(restoreInfoKey(t.key))).toString('utf8');
    }
    for (const [where, text] of Object.entries(haystacks)) expect(text, where).not.toContain(SENTINEL_PASSWORD);
  });
});
