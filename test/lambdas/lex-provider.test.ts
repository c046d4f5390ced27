/**
 * The Lex provider with the REAL LexModelsV2Client against the Lex V2
 * simulator (restJson1 over HTTP): discovery with paging, every export kind,
 * the status mapping, cleanup, passwords, and the error mapping of real
 * service errors.
 */
import { LexModelsV2Client } from '@aws-sdk/client-lex-models-v2';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseConfig } from '../../lib/config/config';
import { lexDownloadHosts, LexProvider } from '../../lib/providers/lex/provider';
import type { Job } from '../../lib/core/contracts';
import { ProviderRequestError, ProviderUnavailableError, RateLimitedError } from '../../lib/core/errors';
import { startLexSimulator, type LexSimulator } from '../simulators/lex-simulator';
import type { Target } from '../../lib/providers/definitions';
import { withCapturedLogs } from '../helpers/capture-logs';

const BOTS = [
  { botId: 'ALPHABOT01', botName: 'Alpha', versions: ['1'], locales: ['en_US', 'de_DE'], intents: ['Greet', 'Order'] },
  { botId: 'BRAVOBOT02', botName: 'Bravo', versions: [], locales: ['en_US'], intents: ['Help'] },
  { botId: 'CHARLIE003', botName: 'Charlie', versions: ['1', '2'], locales: ['en_GB'], intents: ['Book'] },
  ...Array.from({ length: 12 }, (_, i) => ({
    botId: `FLEETBOT${String(i).padStart(2, '0')}`,
    botName: `Fleet${i}`,
    versions: ['1', '2', '3'].slice(0, (i % 3) + 1),
  })),
];

let sim: LexSimulator;
let lex: LexModelsV2Client;
let provider: LexProvider;
const secretReads: string[] = [];
const sentPasswords: (string | undefined)[] = [];

function lexClient(endpoint: string): LexModelsV2Client {
  return new LexModelsV2Client({ endpoint, region: 'us-east-1', credentials: { accessKeyId: 'test', secretAccessKey: 'test' } });
}

/** Parses a target like the config would. */
function target(raw: Record<string, unknown>): Target {
  return parseConfig({ targets: [raw] }).targets[0]!;
}

async function planOne(raw: Record<string, unknown>): Promise<Job[]> {
  return provider.plan(target(raw), { home: { account: '123456789012', region: 'us-east-1' }, accounts: [] });
}

async function rejection(p: Promise<unknown>): Promise<Error> {
  return p.then(
    () => {
      throw new Error('expected a rejection');
    },
    (e: unknown) => e as Error,
  );
}

beforeAll(async () => {
  sim = await startLexSimulator({ bots: BOTS, testSets: ['TESTSET001'] });
  lex = lexClient(sim.url);
  // Records what CreateExport really sent, to prove the password goes out in that call (and only there).
  lex.middlewareStack.add(
    (next, context) => async (args) => {
      if (context.commandName === 'CreateExportCommand') sentPasswords.push((args.input as { filePassword?: string }).filePassword);
      return next(args);
    },
    { step: 'initialize', name: 'recordPassword' },
  );
  provider = new LexProvider({
    lex,
    secrets: async (id) => {
      secretReads.push(id);
      return id === 'botvault/json-password' ? '{"password":"pw-from-json"}' : 'pw-plain';
    },
  });
});
afterAll(async () => {
  lex.destroy();
  await sim.close();
});

describe('Lex discovery (ListBots / ListBotVersions / ListBotLocales, paged)', () => {
  it('finds every bot (following nextToken) and backs up DRAFT by default, named after the bot', async () => {
    const before = sim.calls.length;
    const jobs = await planOne({ provider: 'lex', discover: true });
    expect(jobs.map((j) => j.id).sort()).toEqual(BOTS.map((b) => `lex:${b.botId}:DRAFT`).sort());
    expect(jobs.find((j) => j.id === 'lex:ALPHABOT01:DRAFT')).toEqual({
      id: 'lex:ALPHABOT01:DRAFT',
      provider: 'lex',
      key: 'lex/123456789012/us-east-1/ALPHABOT01/DRAFT/bot.zip',
      legacyKey: 'lex/us-east-1/ALPHABOT01/DRAFT/bot.zip',
      name: 'Alpha',
      spec: { kind: 'bot', botId: 'ALPHABOT01', botVersion: 'DRAFT', fileFormat: 'LexJson', account: '123456789012', region: 'us-east-1' },
    });
    const listCalls = sim.calls.slice(before).filter((c) => c.op === 'ListBots');
    expect(listCalls.length).toBeGreaterThanOrEqual(2); // 15 bots, pages of at most 10
  });

  it('filters by include / exclude globs on the bot name', async () => {
    const jobs = await planOne({ provider: 'lex', discover: true, include: ['Fleet*'], exclude: ['Fleet1?'] });
    expect(jobs.map((j) => j.name).sort()).toEqual([
      'Fleet0',
      'Fleet1',
      'Fleet2',
      'Fleet3',
      'Fleet4',
      'Fleet5',
      'Fleet6',
      'Fleet7',
      'Fleet8',
      'Fleet9',
    ]);
  });

  it('"latest" takes the highest numbered version and skips bots that were never versioned', async () => {
    const jobs = await planOne({ provider: 'lex', discover: true, include: ['Alpha', 'Bravo', 'Charlie', 'Fleet2'], versions: 'latest' });
    expect(jobs.map((j) => j.id).sort()).toEqual(['lex:ALPHABOT01:1', 'lex:CHARLIE003:2', 'lex:FLEETBOT02:3']);
    expect(jobs.find((j) => j.id === 'lex:CHARLIE003:2')?.key).toBe('lex/123456789012/us-east-1/CHARLIE003/2/bot.zip');
  });

  it('"all" takes DRAFT and every numbered version; "locales" adds one job per locale', async () => {
    const jobs = await planOne({
      provider: 'lex',
      discover: true,
      include: ['alpha', 'charlie'],
      versions: 'all',
      locales: true,
      passwordSecret: 'botvault/lex-password',
    });
    expect(jobs.map((j) => j.id).sort()).toEqual(
      [
        'lex:ALPHABOT01:DRAFT',
        'lex:ALPHABOT01:DRAFT:en_US',
        'lex:ALPHABOT01:DRAFT:de_DE',
        'lex:ALPHABOT01:1',
        'lex:ALPHABOT01:1:en_US',
        'lex:ALPHABOT01:1:de_DE',
        'lex:CHARLIE003:DRAFT',
        'lex:CHARLIE003:DRAFT:en_GB',
        'lex:CHARLIE003:1',
        'lex:CHARLIE003:1:en_GB',
        'lex:CHARLIE003:2',
        'lex:CHARLIE003:2:en_GB',
      ].sort(),
    );
    const locale = jobs.find((j) => j.id === 'lex:ALPHABOT01:1:de_DE')!;
    expect(locale).toMatchObject({ key: 'lex/123456789012/us-east-1/ALPHABOT01/1/locales/de_DE.zip', name: 'Alpha' });
    expect(locale.spec).toEqual({
      kind: 'botLocale',
      botId: 'ALPHABOT01',
      botVersion: '1',
      localeId: 'de_DE',
      fileFormat: 'LexJson',
      passwordSecret: 'botvault/lex-password',
      account: '123456789012',
      region: 'us-east-1',
    });
    // Planning reads no secret: only the name travels in the job.
    expect(secretReads).toEqual([]);
  });

  it("skips the deep drill's scratch bots (botvault-drill-<12 hex>), with a log line; a look-alike name is backed up", async () => {
    const s = await startLexSimulator({
      bots: [
        ...BOTS.slice(0, 2),
        { botId: 'SCRATCH001', botName: 'botvault-drill-0123456789ab' },
        { botId: 'LOOKALIKE1', botName: 'botvault-drill-notes' },
      ],
    });
    const c = lexClient(s.url);
    try {
      const lines: string[] = [];
      const jobs = await withCapturedLogs(lines, () =>
        new LexProvider({ lex: c }).plan(target({ provider: 'lex', discover: true }), {
          home: { account: '123456789012', region: 'us-east-1' },
          accounts: [],
        }),
      );
      expect(jobs.map((j) => j.name).sort()).toEqual(['Alpha', 'Bravo', 'botvault-drill-notes']);
      expect(lines.join('')).toMatch(/Discovery skips a deep drill scratch bot.*SCRATCH001/);
    } finally {
      c.destroy();
      await s.close();
    }
  });

  it('a discovery that matches nothing plans no jobs', async () => {
    expect(await planOne({ provider: 'lex', discover: true, include: ['NoSuchBot*'] })).toEqual([]);
  });
});

describe('Lex exports: start → check → downloadUrl → cleanup', () => {
  it.each([
    [{ provider: 'lex', botId: 'ALPHABOT01', botVersion: 'DRAFT' }, { botExportSpecification: { botId: 'ALPHABOT01', botVersion: 'DRAFT' } }],
    [
      { provider: 'lex', botId: 'ALPHABOT01', botVersion: '1', localeId: 'de_DE' },
      { botLocaleExportSpecification: { botId: 'ALPHABOT01', botVersion: '1', localeId: 'de_DE' } },
    ],
    [
      { provider: 'lex', botId: 'CHARLIE003', botVersion: 'DRAFT', localeId: 'en_GB', customVocabulary: true },
      { customVocabularyExportSpecification: { botId: 'CHARLIE003', botVersion: 'DRAFT', localeId: 'en_GB' } },
    ],
    [{ provider: 'lex', testSetId: 'TESTSET001' }, { testSetExportSpecification: { testSetId: 'TESTSET001' } }],
  ])('%j exports %j', async (raw, resourceSpecification) => {
    const [job] = await planOne(raw);
    const ref = await provider.start(job!);
    expect(Object.keys(ref)).toEqual(['exportId']);
    expect(sim.exports.get(ref.exportId)?.spec).toEqual(resourceSpecification);

    expect(await provider.check(job!, ref)).toEqual({ status: 'READY' });
    const download = await provider.downloadUrl(job!, ref);
    expect(download.url.startsWith(`${sim.url}/downloads/${ref.exportId}?`)).toBe(true);
    expect(download.allowedHosts).toEqual(lexDownloadHosts('us-east-1'));

    await provider.cleanup(job!, ref);
    expect(sim.exports.get(ref.exportId)?.deleted).toBe(true);
    // Cleaning up twice (a retried Cleanup) is fine: Lex's 412 for a gone export counts as done.
    const before = sim.calls.length;
    await provider.cleanup(job!, ref);
    expect(sim.calls.slice(before).map((c) => [c.op, c.status])).toEqual([['DeleteExport', 412]]);
  });

  it('each downloadUrl call asks DescribeExport again for a fresh URL', async () => {
    const [job] = await planOne({ provider: 'lex', botId: 'ALPHABOT01', botVersion: 'DRAFT' });
    const ref = await provider.start(job!);
    const a = await provider.downloadUrl(job!, ref);
    const b = await provider.downloadUrl(job!, ref);
    expect(a.url).not.toBe(b.url);
    expect(sim.calls.filter((c) => c.op === 'DescribeExport' && c.exportId === ref.exportId)).toHaveLength(2);
  });

  it('reports IN_PROGRESS until the export completes', async () => {
    // Long enough that the first check is still in progress on a loaded CI machine.
    sim.setFaults('BRAVOBOT02', { exportLatencyMs: 1000 });
    const [job] = await planOne({ provider: 'lex', botId: 'BRAVOBOT02', botVersion: 'DRAFT' });
    const ref = await provider.start(job!);
    expect(await provider.check(job!, ref)).toEqual({ status: 'IN_PROGRESS' });
    await expect(provider.downloadUrl(job!, ref)).rejects.toBeInstanceOf(ProviderRequestError);
    await new Promise((r) => setTimeout(r, 1100));
    expect(await provider.check(job!, ref)).toEqual({ status: 'READY' });
    sim.setFaults('BRAVOBOT02', {});
  });

  it('reports FAILED with the failure reasons', async () => {
    sim.setFaults('BRAVOBOT02', { failExport: ['Bot locale en_US is not built'] });
    const [job] = await planOne({ provider: 'lex', botId: 'BRAVOBOT02', botVersion: 'DRAFT' });
    const ref = await provider.start(job!);
    expect(await provider.check(job!, ref)).toEqual({ status: 'FAILED', reasons: ['Bot locale en_US is not built'] });
    sim.setFaults('BRAVOBOT02', {});
  });

  it('a failure reason that quotes a presigned URL keeps its host and path, never its query (the signature)', async () => {
    const signed =
      'https://lex-exports.s3.us-east-1.amazonaws.com/BRAVOBOT02/export.zip?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=SENTINEL-NOT-A-CREDENTIAL&X-Amz-Signature=SENTINEL-NOT-A-SIGNATURE';
    sim.setFaults('BRAVOBOT02', { failExport: [`Could not write the export to ${signed}: AccessDenied`] });
    const [job] = await planOne({ provider: 'lex', botId: 'BRAVOBOT02', botVersion: 'DRAFT' });
    const ref = await provider.start(job!);
    expect(await provider.check(job!, ref)).toEqual({
      status: 'FAILED',
      reasons: ['Could not write the export to https://lex-exports.s3.us-east-1.amazonaws.com/BRAVOBOT02/export.zip: AccessDenied'],
    });
    sim.setFaults('BRAVOBOT02', {});
  });

  it('an export being deleted is FAILED, not waited on', async () => {
    const [job] = await planOne({ provider: 'lex', botId: 'ALPHABOT01', botVersion: 'DRAFT' });
    const ref = await provider.start(job!);
    await provider.cleanup(job!, ref);
    expect(await provider.check(job!, ref)).toEqual({ status: 'FAILED', reasons: [`export ${ref.exportId} is being deleted`] });
  });

  it('sends the password from passwordSecret only inside CreateExport, never in the job or the ref', async () => {
    sentPasswords.length = 0;
    secretReads.length = 0;
    const [plain] = await planOne({ provider: 'lex', botId: 'ALPHABOT01', botVersion: 'DRAFT', passwordSecret: 'botvault/lex-password' });
    const [json] = await planOne({ provider: 'lex', botId: 'CHARLIE003', botVersion: '2', passwordSecret: 'botvault/json-password' });
    const [none] = await planOne({ provider: 'lex', botId: 'CHARLIE003', botVersion: '1' });
    const refs = [await provider.start(plain!), await provider.start(json!), await provider.start(none!)];
    expect(sentPasswords).toEqual(['pw-plain', 'pw-from-json', undefined]);
    expect(secretReads).toEqual(['botvault/lex-password', 'botvault/json-password']);
    const travelling = JSON.stringify([plain, json, none, refs]);
    expect(travelling).not.toContain('pw-plain');
    expect(travelling).not.toContain('pw-from-json');
    expect(plain!.spec.passwordSecret).toBe('botvault/lex-password');
  });
});

describe('Lex errors from the wire, mapped to named errors', () => {
  it('an unknown bot or version is a ProviderRequestError (never retried)', async () => {
    const [job] = await planOne({ provider: 'lex', botId: 'NOSUCHBOT9', botVersion: 'DRAFT' });
    const err = await rejection(provider.start(job!));
    expect(err).toBeInstanceOf(ProviderRequestError);
    expect(err.message).toMatch(/CreateExport for lex:NOSUCHBOT9:DRAFT failed: ResourceNotFoundException/);
    const [v9] = await planOne({ provider: 'lex', botId: 'ALPHABOT01', botVersion: '9' });
    expect(await rejection(provider.start(v9!))).toBeInstanceOf(ProviderRequestError);
  });

  it('throttling that outlasts the SDK retries is a RateLimitedError; a short burst is absorbed', async () => {
    sim.setFaults('CHARLIE003', { throttleCreate: 1 });
    const [job] = await planOne({ provider: 'lex', botId: 'CHARLIE003', botVersion: 'DRAFT' });
    await expect(provider.start(job!)).resolves.toHaveProperty('exportId');

    sim.setFaults('CHARLIE003', { throttleCreate: 3 });
    const err = await rejection(provider.start(job!));
    expect(err).toBeInstanceOf(RateLimitedError);
    expect(err.message).toMatch(/ThrottlingException/);
    sim.setFaults('CHARLIE003', {});
  }, 30_000);

  it('a conflict is a ProviderUnavailableError (retried by the state machine)', async () => {
    sim.setFaults('CHARLIE003', { conflictCreate: 3 });
    const [job] = await planOne({ provider: 'lex', botId: 'CHARLIE003', botVersion: 'DRAFT' });
    expect(await rejection(provider.start(job!))).toBeInstanceOf(ProviderUnavailableError);
    sim.setFaults('CHARLIE003', {});
  }, 30_000);

  it('throttled status checks are a RateLimitedError', async () => {
    const [job] = await planOne({ provider: 'lex', botId: 'CHARLIE003', botVersion: '1' });
    const ref = await provider.start(job!);
    sim.setFaults('CHARLIE003', { throttleDescribe: 3 });
    expect(await rejection(provider.check(job!, ref))).toBeInstanceOf(RateLimitedError);
    sim.setFaults('CHARLIE003', {});
  }, 30_000);

  it('an endpoint that refuses connections is a ProviderUnavailableError', async () => {
    const dead = await startLexSimulator({ bots: BOTS });
    const deadUrl = dead.url;
    await dead.close();
    const client = lexClient(deadUrl);
    try {
      const p = new LexProvider({ lex: client });
      const [job] = await planOne({ provider: 'lex', botId: 'ALPHABOT01', botVersion: 'DRAFT' });
      const err = await rejection(p.start(job!));
      expect(err).toBeInstanceOf(ProviderUnavailableError);
      expect(err.message).toMatch(/ECONNREFUSED/);
    } finally {
      client.destroy();
    }
  }, 30_000);
});
