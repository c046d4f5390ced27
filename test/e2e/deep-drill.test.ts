/**
 * The deep drill end to end (issue 18): the demo's bots (scripts/local-estate.ts:
 * five Lex V2 bots, one exported with a password, two Kore.ai bots) backed
 * up by the synthesized workflow into versioned S3 (OpenStack Swift), then
 * the deep drill's real handler with the environment the synthesized
 * template gives it (scripts/deep-drill-local.ts), against the Lex V2,
 * Kore.ai, Secrets Manager, KMS, SNS and Service Quotas simulators.
 *
 * The simulators do what the providers do: an import really creates the bot
 * from the archive, a locale build takes time and can fail, Lex refuses a
 * build beyond its parallel builds (1 here) and a bot beyond its bots per
 * account, and the lossy-import fault drops utterances — so the drill's
 * findings are the simulators' facts, not the drill's own.
 *
 * The tests share one bucket and run in order (the sweep test, which leaves
 * bots behind on purpose and fills Lex's bots per account, last).
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { createServer } from 'node:http';
import { HeadObjectCommand, GetObjectCommand, ListObjectsV2Command, PutObjectCommand } from '@aws-sdk/client-s3';
import { KMSClient } from '@aws-sdk/client-kms';
import { BuildBotLocaleCommand, DeleteBotCommand, LexModelsV2Client, paginateListBots } from '@aws-sdk/client-lex-models-v2';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createHash } from 'node:crypto';
import { parseConfig, type BotVaultConfig } from '../../lib/config/config';
import { checkMac, kmsMacKey, macMetadata } from '../../lib/core/mac';
import { runLocal } from '../../lib/local/runner';
import { SCRATCH_BOT_PREFIX, scratchBotName } from '../../lib/providers/drill';
import { koreaiScratchBotName } from '../../lib/providers/koreai/drill';
import { type LocalDeepDrill, runDeepDrillLocally } from '../../scripts/deep-drill-local';
import { estateSecrets, estateTargets, KORE_BOTS, LEX_BOTS } from '../../scripts/local-estate';
import { type KmsSimulator, startKmsForHandlers } from '../simulators/kms-simulator';
import { type KoreSimulator, startKoreSimulator } from '../simulators/koreai-simulator';
import { type LexFaults, type LexSimulator, startLexSimulator } from '../simulators/lex-simulator';
import { type SecretsSimulator, startSecretsSimulator } from '../simulators/secrets-simulator';
import { type ServiceQuotasSimulator, startServiceQuotasSimulator } from '../simulators/service-quotas-simulator';
import { type SnsSimulator, startSnsSimulator } from '../simulators/sns-simulator';
import { createVersionedBucket, swiftS3FromEnv } from '../simulators/swift';

const DRILL_ROLE = 'arn:aws:iam::123456789012:role/BotVaultDrillBot';
const DRILL_APP_SECRET = 'botvault/koreai-drill';
const LEX_BOTS_QUOTA = 'L-36FA8BD2';
/** Room for the demo's five bots, one more real bot the quota test adds, and one scratch bot. */
const MAX_BOTS = LEX_BOTS.length + 2;

const swift = swiftS3FromEnv();
const s3 = swift.client;
const bucket = `botvault-drill-e2e-${randomBytes(4).toString('hex')}`;
const { koreApp, secrets: secretValues } = estateSecrets();
const drillApp = { clientId: 'cs-botvault-drill-e2e', clientSecret: `SENTINEL-${randomBytes(12).toString('hex')}`, admin: true };
/** Lex takes its time as it does for real (shortened), and is mutated by the fault tests. */
const lexFaults: LexFaults = { importLatencyMs: 100, buildLatencyMs: 150, exportLatencyMs: 50, deleteLatencyMs: 100 };

let lex: LexSimulator;
let kore: KoreSimulator;
let secrets: SecretsSimulator;
let mac: { kms: KmsSimulator; macKeyArn: string; close(): Promise<void> };
/** The drill's own HMAC key (the stack's DeepDrillAuthenticationKey): its reports and scratch bot records. */
let drillMacKeyArn: string;
/** KMS calls up to the end of the backup run (the drills' come after). */
let kmsCallsOfTheBackup = 0;
let sns: SnsSimulator;
let quotas: ServiceQuotasSimulator;
let lexClient: LexModelsV2Client;
let config: BotVaultConfig;
let koreHost: string;
/** Every drill of the suite, for the sentinel check at the end. */
const drills: LocalDeepDrill[] = [];
const savedEnv: Record<string, string | undefined> = {};

beforeAll(async () => {
  lex = await startLexSimulator({ bots: LEX_BOTS, defaultFaults: lexFaults, maxBots: MAX_BOTS, maxParallelBuilds: 1 });
  kore = await startKoreSimulator({ apps: [koreApp, drillApp], bots: KORE_BOTS });
  secrets = await startSecretsSimulator({
    secrets: { ...secretValues, [DRILL_APP_SECRET]: JSON.stringify({ clientId: drillApp.clientId, clientSecret: drillApp.clientSecret }) },
  });
  mac = await startKmsForHandlers();
  drillMacKeyArn = mac.kms.createKey({ alias: 'alias/botvault-drill-mac' });
  sns = await startSnsSimulator();
  quotas = await startServiceQuotasSimulator();
  // Files of the e2e project share their workers: what is set here is put back in afterAll.
  const env = {
    AWS_ENDPOINT_URL_LEX_MODELS_V2: lex.url,
    AWS_ENDPOINT_URL_SECRETS_MANAGER: secrets.url,
    AWS_ENDPOINT_URL_SNS: sns.url,
    AWS_ENDPOINT_URL_SERVICE_QUOTAS: quotas.url,
    AWS_ENDPOINT_URL_S3: swift.endpoint,
    AWS_REGION: 'us-east-1',
    AWS_ACCESS_KEY_ID: process.env.BOTVAULT_SWIFT_S3_ACCESS_KEY,
    AWS_SECRET_ACCESS_KEY: process.env.BOTVAULT_SWIFT_S3_SECRET_KEY,
  };
  for (const k of Object.keys(env)) savedEnv[k] = process.env[k];
  Object.assign(process.env, env);
  lexClient = new LexModelsV2Client({ endpoint: lex.url, region: 'us-east-1', credentials: { accessKeyId: 'test', secretAccessKey: 'test' } });
  await createVersionedBucket(s3, bucket);
  koreHost = new URL(kore.url).host;
  config = parseConfig({
    stackName: 'BotVaultDrillE2E',
    polling: { firstWaitSeconds: 5, backoffFactor: 2, maxWaitSeconds: 30, budgetSeconds: 600 },
    downloadAllowlist: [lex.url, kore.url],
    targets: estateTargets(kore.url),
    deepDrill: { enabled: true, sample: 20, concurrency: 2, lexBotRoleArn: DRILL_ROLE, koreaiCredentialsSecret: DRILL_APP_SECRET },
  });
  const backup = await runLocal({ config, bucket, fast: true, macKeyId: mac.macKeyArn });
  expect(backup.status).toBe('SUCCEEDED');
  kmsCallsOfTheBackup = mac.kms.calls.length;
}, 180_000);

afterAll(async () => {
  for (const [k, v] of Object.entries(savedEnv)) {
    if (v === undefined) delete process.env[k];
    else process.env[k] = v;
  }
  lexClient?.destroy();
  await lex?.close();
  await kore?.close();
  await secrets?.close();
  await mac?.close();
  await sns?.close();
  await quotas?.close();
});

async function drill(event: Record<string, unknown>): Promise<LocalDeepDrill> {
  const d = await runDeepDrillLocally({
    config,
    bucket,
    macKeyArn: mac.macKeyArn,
    drillMacKeyArn,
    topicArn: sns.topicArn,
    event: { trigger: 'deep-drill', ...event },
  });
  drills.push(d);
  return d;
}

/** The Lex bots ListBots shows now, by name (those being deleted left out). */
async function lexBots(): Promise<string[]> {
  const names: string[] = [];
  for await (const page of paginateListBots({ client: lexClient }, {}))
    for (const b of page.botSummaries ?? []) if (b.botStatus !== 'Deleting') names.push(b.botName!);
  return names.sort();
}
const lexScratchBots = async () => (await lexBots()).filter((n) => n.startsWith(SCRATCH_BOT_PREFIX));
const realBots = LEX_BOTS.map((b) => b.botName).sort();
const byKey = (d: LocalDeepDrill, key: string) => d.report.results.find((r) => r.key.includes(key))!;

describe('deep drill on the demo bucket', () => {
  it('every bot archive — Lex (numbered and DRAFT), the password-protected one, Kore.ai — restores identical; no Lex scratch bot is left', async () => {
    const d = await drill({ sample: 20 });
    const r = d.report;
    expect(r.selection).toMatchObject({ mode: 'sample', candidates: 7, chosen: 7 });
    expect(r.results.map((x) => x.key.replace(/^(lex\/\d+\/[^/]+|koreai\/[^/]+)\//, ''))).toEqual([
      `${KORE_BOTS[1]!.botId}/published/bot.zip`,
      `${KORE_BOTS[0]!.botId}/latest/bot.zip`,
      'ORDRFLWRS1/2/bot.zip',
      'ORDRFLWRS1/DRAFT/bot.zip',
      'PAYROLLBOT/DRAFT/bot.zip',
      'SUPPORTDSK/DRAFT/bot.zip',
      'WEATHERBOT/3/bot.zip',
    ]);
    for (const a of r.results) {
      expect(a, a.key).toMatchObject({ verified: true, imported: true, reExported: true, identical: true, differences: [] });
      expect(a.error).toBeUndefined();
      expect(a.versionId).toMatch(/\S/);
      expect(a.built).toBe(a.provider === 'lex' ? true : null);
      expect(a.scratchBotAfter).toBe(a.provider === 'lex' ? 'deleted' : 'kept');
      expect(a.scratchBot?.name).toMatch(/^botvault-drill-[0-9a-f]{12}$/);
    }
    expect(r.counts).toEqual({ archives: 7, identical: 7, different: 0, failed: 0, notDrilled: 0 });

    // What Lex was asked: new bots named as scratch bots, with the drill's role and tag; the password-protected one with its password.
    const drillImports = [...lex.imports.values()].filter((i) => JSON.stringify(i.spec ?? {}).includes(SCRATCH_BOT_PREFIX));
    expect(drillImports).toHaveLength(5);
    for (const i of drillImports) {
      expect(i.spec).toMatchObject({
        botImportSpecification: { roleArn: DRILL_ROLE, botTags: { 'botvault:drill': 'true' } },
      });
      expect(i.mergeStrategy).toBe('FailOnConflict');
    }
    expect(byKey(d, 'PAYROLLBOT').calls['secretsmanager:GetSecretValue']).toBe(1);

    expect(await lexScratchBots()).toEqual([]);
    expect(await lexBots()).toEqual(realBots);
    expect(r.scratchBotsLeft).toEqual([]);
    // Kore.ai: one scratch bot for the host, both archives drilled in it (no public API deletes a bot).
    const scratchKore = kore.botIdByName(koreaiScratchBotName(koreHost));
    expect(r.scratchBotsKept).toEqual([{ provider: 'koreai', id: scratchKore, name: koreaiScratchBotName(koreHost) }]);
    for (const a of r.results.filter((x) => x.provider === 'koreai')) expect(a.scratchBot?.id).toBe(scratchKore);

    expect(d.metrics).toMatchObject({ DeepDrillArchives: 7, DeepDrillIdentical: 7, DeepDrillDifferences: 0, DeepDrillFailures: 0 });
    expect(d.alarm).toMatchObject({ state: 'OK', value: 0, threshold: 1 });
    expect(sns.published.at(-1)).toMatchObject({ topicArn: sns.topicArn, subject: 'BotVault deep drill: 7 of 7 archives restored intact' });
    expect(sns.published.at(-1)!.message).toContain(
      '7 archives restored into scratch bots: 7 identical, 0 with differences, 0 failed; no scratch bot left (1 Kore.ai scratch bot kept for reuse: no delete API).',
    );
  });

  it("the report is in the bucket under drills/<date>/, its sha256 and MAC (kind drill) verified with the drill's own key, not the archive key", async () => {
    const d = drills[0]!;
    expect(d.output.reportKey).toMatch(/^drills\/\d{4}\/\d{2}\/\d{2}\/deep-drill-[\w-]+\.json$/);
    const head = await s3.send(new HeadObjectCommand({ Bucket: bucket, Key: d.output.reportKey }));
    const body = Buffer.from(await (await s3.send(new GetObjectCommand({ Bucket: bucket, Key: d.output.reportKey }))).Body!.transformToByteArray());
    const sha256 = createHash('sha256').update(body).digest('hex');
    expect(head.Metadata?.sha256).toBe(sha256);
    const kms = new KMSClient({ endpoint: mac.kms.url, region: 'us-east-1' });
    const key = kmsMacKey(kms, drillMacKeyArn);
    const subject = { key: d.output.reportKey, bytes: body.length, sha256, metadata: head.Metadata ?? {} };
    expect(await checkMac(key, { kind: 'drill', ...subject })).toEqual({ status: 'authentic' });
    // A MAC of one kind never verifies as another.
    expect((await checkMac(key, { kind: 'manifest', ...subject })).status).toBe('invalid');
    // Made with the drill's key, not the archive key: with the archive key it verifies as nothing (the drill cannot make its MACs).
    const archiveKey = kmsMacKey(kms, mac.macKeyArn);
    for (const kind of ['drill', 'archive', 'sidecar', 'manifest'] as const)
      expect((await checkMac(archiveKey, { kind, ...subject })).status).toBe('invalid');
    kms.destroy();
    // The drill makes MACs with its own key only; of the archive key it only asks VerifyMac.
    const drillCalls = mac.kms.calls.slice(kmsCallsOfTheBackup);
    expect(new Set(drillCalls.filter((c) => c.op === 'GenerateMac').map((c) => c.keyId))).toEqual(new Set([drillMacKeyArn]));
    expect(drillCalls.filter((c) => c.keyId === mac.macKeyArn).map((c) => c.op)).toContain('VerifyMac');
    expect(drillCalls.filter((c) => c.keyId === mac.macKeyArn && c.op !== 'VerifyMac')).toEqual([]);
  });

  it('a lossy import: the drill names exactly what the simulators dropped, the alarm fires, the notification says it', async () => {
    lexFaults.lossyImport = { dropUtterancesPerIntent: 2, intents: ['OrderFlowers'] };
    const scratchKore = kore.botIdByName(koreaiScratchBotName(koreHost))!;
    kore.setFaults(scratchKore, { lossyImport: { dropUtterancesPerDialog: 1, dialogs: ['BookRoom'] } });
    try {
      const d = await drill({ targets: ['lex:ORDRFLWRS1:DRAFT', KORE_BOTS[0]!.botId] });
      expect(d.report.selection).toMatchObject({ mode: 'targets', chosen: 2 });
      const lexLosses = [...lex.imports.values()].flatMap((i) => i.losses ?? []).filter((l) => l.intent === 'OrderFlowers');
      expect(lexLosses.length).toBeGreaterThan(0);
      const koreLosses = [...kore.imports.values()].flatMap((i) => i.losses ?? []);
      expect(koreLosses).toHaveLength(1);
      const lexResult = byKey(d, 'ORDRFLWRS1/DRAFT');
      const koreResult = byKey(d, KORE_BOTS[0]!.botId);
      expect(lexResult.differences.map((x) => x.text)).toEqual(
        lexLosses.map((l) => `${l.localeId}: intent ${l.intent}: ${l.dropped.length} of ${l.total} utterances missing after import`),
      );
      expect(lexResult.differences.map((x) => x.text)).toEqual(['en_US: intent OrderFlowers: 2 of 3 utterances missing after import']);
      expect(lexResult.differences[0]!.missing).toEqual(lexLosses[0]!.dropped);
      expect(koreResult.differences.map((x) => x.text)).toEqual([
        `${koreLosses[0]!.language}: dialog BookRoom: ${koreLosses[0]!.dropped.length} of ${koreLosses[0]!.total} utterances missing after import`,
      ]);
      expect(d.report.counts).toEqual({ archives: 2, identical: 0, different: 2, failed: 0, notDrilled: 0 });
      expect(d.metrics).toMatchObject({ DeepDrillDifferences: 2, DeepDrillFailures: 0 });
      expect(d.alarm).toMatchObject({ state: 'ALARM', value: 2 });
      const note = sns.published.at(-1)!;
      expect(note.subject).toBe('BotVault deep drill: 2 of 2 archives did not restore intact');
      expect(note.message).toContain('ORDRFLWRS1/DRAFT/bot.zip: en_US: intent OrderFlowers: 2 of 3 utterances missing after import');
      expect(note.message).toContain(`${KORE_BOTS[0]!.botId}/latest/bot.zip: ${koreResult.differences[0]!.text}`);
      expect(await lexScratchBots()).toEqual([]);
    } finally {
      delete lexFaults.lossyImport;
      kore.setFaults(scratchKore, {});
    }
  });

  it("a locale build that fails, an import that fails: the step and Lex's own reason are reported, and the scratch bot is deleted all the same", async () => {
    lexFaults.failBuild = ['Bot build failed: slot type SupportDeskChoice has no values in locale es_US.'];
    try {
      const d = await drill({ targets: ['lex:SUPPORTDSK:DRAFT'] });
      const a = d.report.results[0]!;
      expect(a).toMatchObject({ imported: true, built: false, reExported: false, identical: null, scratchBotAfter: 'deleted' });
      // Every locale is built and each failure named (one locale at a time: the sim fails both).
      expect(a.error).toEqual({
        step: 'build',
        message:
          'en_US: Bot build failed: slot type SupportDeskChoice has no values in locale es_US.; es_US: Bot build failed: slot type SupportDeskChoice has no values in locale es_US.',
      });
      expect(d.metrics).toMatchObject({ DeepDrillFailures: 1 });
      expect(d.alarm.state).toBe('ALARM');
      expect(sns.published.at(-1)!.message).toContain('SUPPORTDSK/DRAFT/bot.zip: build failed: en_US: Bot build failed');
      expect(await lexScratchBots()).toEqual([]);
    } finally {
      delete lexFaults.failBuild;
    }
    lexFaults.failImport = ['The import failed: intent OrderFlowers references slot type OrderFlowersChoice, which does not exist.'];
    try {
      const d = await drill({ targets: ['lex:ORDRFLWRS1:2'] });
      const a = d.report.results[0]!;
      expect(a).toMatchObject({ verified: true, imported: false, built: null, reExported: false });
      expect(a.error).toEqual({ step: 'import', message: lexFaults.failImport[0] });
      expect(d.alarm.state).toBe('ALARM');
      expect(await lexScratchBots()).toEqual([]);
    } finally {
      delete lexFaults.failImport;
    }
  });

  it('a bot that already has the scratch name is never imported into, built, exported or deleted: the archive fails its import', async () => {
    const weather = byKey(drills[0]!, 'WEATHERBOT/3');
    const runId = 'deep-drill-collision-e2e';
    const name = scratchBotName(runId, weather.key, weather.versionId);
    lex.addBot({ botId: 'COLLISION1', botName: name, intents: ['Hello'], settings: { tags: { 'botvault:drill': 'true' } } });
    try {
      const d = await drill({ runId, targets: ['lex:WEATHERBOT:3'] });
      const a = d.report.results[0]!;
      expect(a.error).toEqual({ step: 'import', message: `a bot named ${name} exists already (COLLISION1): the drill imports only into a new bot` });
      expect(a.scratchBot).toBeUndefined();
      expect(a.scratchBotAfter).toBeNull();
      expect(lex.calls.filter((c) => c.botId === 'COLLISION1').map((c) => c.op)).toEqual(['DescribeBot']);
      expect(await lexBots()).toContain(name);
    } finally {
      await lexClient.send(new DeleteBotCommand({ botId: 'COLLISION1', skipResourceInUseCheck: true }));
    }
  });

  it("no secret anywhere: not the Kore.ai apps' client secrets, not the export password — in no report, record, notification or log", async () => {
    process.env.POWERTOOLS_LOG_LEVEL = 'DEBUG';
    try {
      drills.push(
        await runDeepDrillLocally({ config, bucket, macKeyArn: mac.macKeyArn, drillMacKeyArn, topicArn: sns.topicArn, event: { sample: 20 } }),
      );
    } finally {
      process.env.POWERTOOLS_LOG_LEVEL = 'SILENT';
    }
    const sentinels = [
      drillApp.clientSecret,
      koreApp.clientSecret,
      ...Object.values(secretValues).flatMap((v) => Object.values(JSON.parse(v) as Record<string, string>)),
    ].filter((v) => v.length >= 16 && !v.startsWith('cs-'));
    expect(sentinels.length).toBeGreaterThanOrEqual(3);
    const objects: string[] = [];
    for (const o of (await s3.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: 'drills/' }))).Contents ?? []) {
      const res = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: o.Key }));
      objects.push(JSON.stringify(res.Metadata), await res.Body!.transformToString());
    }
    expect(objects.length).toBeGreaterThanOrEqual(drills.length * 2);
    const everything = [
      ...objects,
      ...drills.flatMap((d) => [JSON.stringify(d.report), JSON.stringify(d.output), ...d.lines]),
      ...sns.published.map((m) => `${m.subject} ${m.message}`),
    ].join('\n');
    // The DEBUG run logged: the check looks at real log lines.
    expect(drills.at(-1)!.lines.join('')).toContain('Deep drill finished');
    for (const s of sentinels) expect(everything).not.toContain(s);
  });

  it("quotas: the account's one parallel locale build taken by another build, the drill's build is refused (402) and waits for the slot", async () => {
    // A real bot's build holds Lex's only parallel build slot (maxParallelBuilds: 1) for 2 s, whatever the machine's speed.
    lex.setFaults('WEATHERBOT', { ...lexFaults, buildLatencyMs: 2_000 });
    try {
      await lexClient.send(new BuildBotLocaleCommand({ botId: 'WEATHERBOT', botVersion: 'DRAFT', localeId: 'en_GB' }));
      const before = lex.calls.length;
      const d = await drill({ targets: ['lex:ORDRFLWRS1:DRAFT'] });
      expect(d.report.counts).toEqual({ archives: 1, identical: 1, different: 0, failed: 0, notDrilled: 0 });
      const builds = lex.calls
        .slice(before)
        .filter((c) => c.op === 'BuildBotLocale')
        .map((c) => c.status);
      expect(builds[0]).toBe(402);
      expect(builds.at(-1)).toBe(202);
      expect(d.report.results[0]!.timings.quotaWait ?? 0).toBeGreaterThan(0);
    } finally {
      lex.setFaults('WEATHERBOT', lexFaults);
    }
    expect(await lexScratchBots()).toEqual([]);
  });

  it('quotas: at bots per account (Service Quotas, and Lex itself) the drill waits for room instead of failing', async () => {
    // Service Quotas says there is room for one bot beyond the real ones: the drill holds itself to one scratch bot at a time.
    quotas.setApplied('lex', LEX_BOTS_QUOTA, LEX_BOTS.length + 1);
    try {
      const d = await drill({ targets: ['lex:ORDRFLWRS1:DRAFT', 'lex:PAYROLLBOT:DRAFT', 'lex:WEATHERBOT:3'] });
      expect(d.report.counts).toEqual({ archives: 3, identical: 3, different: 0, failed: 0, notDrilled: 0 });
      expect(d.report.results.some((a) => (a.timings.quotaWait ?? 0) > 0)).toBe(true);
      expect(quotas.calls).toContainEqual(
        expect.objectContaining({ op: 'GetServiceQuota', serviceCode: 'lex', quotaCode: LEX_BOTS_QUOTA, status: 200 }),
      );
    } finally {
      quotas.setApplied('lex', LEX_BOTS_QUOTA, undefined);
    }
    // Service Quotas says 100, Lex's own limit is tighter: its 402 on StartImport is waited out too.
    lex.addBot({ botId: 'EXTRABOT01', botName: 'ExtraBot', intents: ['Hello'] });
    const refusedBefore = lex.calls.filter((c) => c.op === 'StartImport' && c.status === 402).length;
    const d = await drill({ targets: ['lex:ORDRFLWRS1:DRAFT', 'lex:PAYROLLBOT:DRAFT'] });
    expect(d.report.counts).toEqual({ archives: 2, identical: 2, different: 0, failed: 0, notDrilled: 0 });
    expect(lex.calls.filter((c) => c.op === 'StartImport' && c.status === 402).length).toBeGreaterThan(refusedBefore);
    expect(await lexScratchBots()).toEqual([]);
  });

  it('a DeleteBot refused and the closing ListBots failing: the subject does not say intact, the notification names the bot, the alarm fires', async () => {
    // A proxy in front of Lex: DeleteBot of a scratch bot is refused (AccessDenied, not retried), and once one was,
    // every ListBots fails (the closing check).
    let refusedDelete = false;
    const proxy = createServer(async (req, res) => {
      const path = req.url ?? '';
      if (req.method === 'DELETE' && /^\/bots\/[^/?]+\/?(\?|$)/.test(path)) {
        refusedDelete = true;
        req.resume();
        res.writeHead(403, { 'content-type': 'application/json', 'x-amzn-errortype': 'AccessDeniedException' });
        return res.end(JSON.stringify({ message: 'not authorized to perform: lex:DeleteBot (fault)' }));
      }
      if (refusedDelete && req.method === 'POST' && /^\/bots\/?$/.test(path)) {
        req.resume();
        res.writeHead(500, { 'content-type': 'application/json', 'x-amzn-errortype': 'InternalServerException' });
        return res.end(JSON.stringify({ message: 'ListBots is down (fault)' }));
      }
      const body = await new Promise<Buffer>((ok) => {
        const chunks: Buffer[] = [];
        req.on('data', (c: Buffer) => chunks.push(c)).on('end', () => ok(Buffer.concat(chunks)));
      });
      const headers = Object.fromEntries(Object.entries(req.headers).filter(([k]) => k !== 'host' && k !== 'connection')) as Record<string, string>;
      const upstream = await fetch(`${lex.url}${path}`, { method: req.method!, headers, ...(body.length ? { body } : {}) });
      res.writeHead(upstream.status, Object.fromEntries(upstream.headers));
      res.end(Buffer.from(await upstream.arrayBuffer()));
    });
    await new Promise<void>((r) => proxy.listen(0, '127.0.0.1', () => r()));
    const saved = process.env.AWS_ENDPOINT_URL_LEX_MODELS_V2;
    process.env.AWS_ENDPOINT_URL_LEX_MODELS_V2 = `http://127.0.0.1:${(proxy.address() as { port: number }).port}`;
    let d: LocalDeepDrill;
    try {
      d = await drill({ targets: ['lex:ORDRFLWRS1:DRAFT'] });
    } finally {
      process.env.AWS_ENDPOINT_URL_LEX_MODELS_V2 = saved;
      await new Promise<void>((r) => proxy.close(() => r()));
    }
    const r = d.report.results[0]!;
    expect(r).toMatchObject({ identical: true, scratchBotAfter: 'failed', deleteError: expect.stringMatching(/AccessDenied/) });
    expect(d.report.closingCheckFailed).toEqual([{ provider: 'lex', error: expect.stringMatching(/ListBots is down/) }]);
    expect(d.output.summary).not.toContain('no scratch bot left');
    expect(d.output.summary).toContain('scratch bots left unknown');
    const note = sns.published.at(-1)!;
    expect(note.subject).not.toMatch(/restored intact/);
    expect(note.message).toContain(`scratch bot ${r.scratchBot!.name} (${r.scratchBot!.id}) not deleted: AccessDeniedException`);
    expect(d.alarm.state).toBe('ALARM');
    // What the drill could not delete, deleted here (the suite's later tests count the bots).
    await lexClient.send(new DeleteBotCommand({ botId: r.scratchBot!.id, skipResourceInUseCheck: true }));
    for (let i = 0; i < 100 && (await lexScratchBots()).length; i++) await new Promise((res) => setTimeout(res, 20));
  });

  describe("Kore.ai's recorded scratch bot (drills/scratch-bots/koreai/<host>.json)", () => {
    const recordKey = () => `drills/scratch-bots/koreai/${koreHost.replace(/[^\w.:-]/g, '_')}.json`;
    const koreBot = KORE_BOTS[0]!.botId;
    /**
     * Writes a record as the drill would (sha256, run-id, MAC of kind drill with the drill's key), or with a MAC
     * that does not verify, or one made with the archive key (what a writer of archives could plant).
     */
    async function record(id: string, opts: { badMac?: boolean; archiveKey?: boolean } = {}): Promise<string> {
      const body = JSON.stringify({
        provider: 'koreai',
        host: koreHost,
        id,
        name: koreaiScratchBotName(koreHost),
        recordedAt: new Date().toISOString(),
        runId: 'e2e',
      });
      const metadata: Record<string, string> = { sha256: createHash('sha256').update(body).digest('hex'), 'run-id': 'e2e' };
      const macKey = kmsMacKey(
        new KMSClient({ endpoint: mac.kms.url, region: 'us-east-1', credentials: { accessKeyId: 't', secretAccessKey: 't' } }),
        opts.archiveKey ? mac.macKeyArn : drillMacKeyArn,
      );
      metadata.mac = await macMetadata(macKey, {
        kind: 'drill',
        key: recordKey(),
        bytes: Buffer.byteLength(body),
        sha256: metadata.sha256!,
        metadata,
      });
      if (opts.badMac) metadata.mac = metadata.mac.replace(/[A-Za-z0-9]/, (c) => (c === 'A' ? 'B' : 'A'));
      await s3.send(new PutObjectCommand({ Bucket: bucket, Key: recordKey(), Body: body, Metadata: metadata }));
      return body;
    }
    const recordBody = async () => await (await s3.send(new GetObjectCommand({ Bucket: bucket, Key: recordKey() }))).Body!.transformToString();

    it('the recorded bot gone at Kore.ai (deleted in the Bot Builder): a new scratch bot is made and recorded', async () => {
      const gone = `st-${randomUUID()}`;
      await record(gone);
      const d = await drill({ targets: [koreBot] });
      expect(d.report.counts).toMatchObject({ archives: 1, identical: 1, failed: 0 });
      const now = JSON.parse(await recordBody()) as { id: string };
      expect(now.id).not.toBe(gone);
      expect(d.report.results[0]!.scratchBot?.id).toBe(now.id);
    });

    it('a record whose MAC does not verify is a finding: the archive fails, no bot is made, the record is not overwritten', async () => {
      const before = await record(kore.botIdByName(koreaiScratchBotName(koreHost))!, { badMac: true });
      const imports = kore.calls.filter((c) => c.op === 'Import').length;
      const d = await drill({ targets: [koreBot] });
      expect(d.report.results[0]!.error).toMatchObject({
        step: 'import',
        message: expect.stringMatching(/scratch bot record .* cannot be used.*not authenticated/),
      });
      expect(d.alarm.state).toBe('ALARM');
      expect(kore.calls.filter((c) => c.op === 'Import').length).toBe(imports);
      expect(await recordBody()).toBe(before);
    });

    it("a record MACed with the archive key, not the drill's, does not verify: the archive fails, nothing is imported", async () => {
      const before = await record(kore.botIdByName(koreaiScratchBotName(koreHost))!, { archiveKey: true });
      const imports = kore.calls.filter((c) => c.op === 'Import').length;
      const d = await drill({ targets: [koreBot] });
      expect(d.report.results[0]!.error).toMatchObject({
        step: 'import',
        message: expect.stringMatching(/scratch bot record .* cannot be used.*not authenticated.*does not verify with key/),
      });
      expect(kore.calls.filter((c) => c.op === 'Import').length).toBe(imports);
      expect(await recordBody()).toBe(before);
    });

    it('a record naming a bot the bucket holds archives of is refused: nothing is imported into it', async () => {
      await record(koreBot);
      const imports = kore.calls.filter((c) => c.op === 'Import').length;
      const d = await drill({ targets: [koreBot] });
      expect(d.report.results[0]!.error).toMatchObject({ step: 'import', message: expect.stringMatching(/refusing the recorded scratch bot/) });
      expect(kore.calls.filter((c) => c.op === 'Import').length).toBe(imports);
      // Put back a good record for what follows.
      await record(kore.botIdByName(koreaiScratchBotName(koreHost))!);
    });
  });

  it("a crashed drill's day-old scratch bot is swept; a young one, an untagged look-alike and every real bot are left alone", async () => {
    const day = 24 * 60 * 60 * 1000;
    lex.addBot({
      botId: 'OLDDRILL01',
      botName: 'botvault-drill-aaaaaaaaaaaa',
      createdAt: Date.now() - 2 * day,
      settings: { tags: { 'botvault:drill': 'true' } },
    });
    lex.addBot({
      botId: 'NEWDRILL01',
      botName: 'botvault-drill-bbbbbbbbbbbb',
      createdAt: Date.now() - 3_600_000,
      settings: { tags: { 'botvault:drill': 'true' } },
    });
    lex.addBot({ botId: 'LOOKALIKE1', botName: 'botvault-drill-cccccccccccc', createdAt: Date.now() - 2 * day });
    // No archive this time: Lex's bots per account (7 here) has no room left for a scratch bot beside the three.
    const d = await drill({ targets: ['lex:NONESUCH01:DRAFT'] });
    expect(d.report.selection).toMatchObject({ mode: 'targets', chosen: 0 });
    expect(d.report.sweep).toEqual([
      { provider: 'lex', id: 'OLDDRILL01', name: 'botvault-drill-aaaaaaaaaaaa', ageHours: 48, deleted: true },
      {
        provider: 'lex',
        id: 'LOOKALIKE1',
        name: 'botvault-drill-cccccccccccc',
        ageHours: 48,
        deleted: false,
        error: 'Error: refusing to delete bot LOOKALIKE1 (botvault-drill-cccccccccccc): it has no botvault:drill tag',
      },
    ]);
    expect(await lexScratchBots()).toEqual(['botvault-drill-bbbbbbbbbbbb', 'botvault-drill-cccccccccccc']);
    expect(d.report.scratchBotsLeft.map((b) => b.id).sort()).toEqual(['LOOKALIKE1', 'NEWDRILL01']);
    expect((await lexBots()).filter((n) => !n.startsWith(SCRATCH_BOT_PREFIX))).toEqual([...realBots, 'ExtraBot'].sort());
    // The refused look-alike is a finding: the alarm fires and the notification names it.
    expect(d.metrics).toMatchObject({ DeepDrillArchives: 0, DeepDrillFailures: 1 });
    expect(d.alarm.state).toBe('ALARM');
    expect(sns.published.at(-1)!.message).toContain('swept lex scratch bot botvault-drill-aaaaaaaaaaaa (OLDDRILL01, 48 h old): deleted');
  });
});
