/**
 * `botvault restore` for Lex V2 end to end: the real command line as
 * a child process, its real SDK clients pointed at the Lex V2 simulator (which
 * implements CreateUploadUrl / upload / StartImport / DescribeImport and keeps
 * what was imported) and at versioned S3 (OpenStack Swift). Backups are real
 * runs of the synthesized workflow (runLocal), so the round trip is the one an
 * operator makes: back up → the bot changes → restore → back up again → the
 * archive's entries are the original ones.
 *
 * The tests share one bucket and run in order.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { GetObjectCommand, PutObjectCommand } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readZipEntries } from '../../lib/core/archive/zip';
import { comparableEntries } from '../generators/normalize';
import { runLocal } from '../../lib/local/runner';
import { startCliHarness, type CliHarness } from './cli-harness';
import { type RestoreInfo, restoreInfoSha256 } from '../../lib/providers/definitions';
import { restoreInfoKey } from '../../lib/core/names';

const KEY = 'lex/123456789012/us-east-1/ALPHABOT01/DRAFT/bot.zip';
const TARGET = 'lex:ALPHABOT01:DRAFT';
const ROLE = 'arn:aws:iam::123456789012:role/BotVaultRestoreRole';

let h: CliHarness;
let lexEnv: Record<string, string>;
/** Version ids of KEY, oldest first. */
const versions: string[] = [];
const LOCALE_KEY = 'lex/123456789012/us-east-1/ALPHABOT01/DRAFT/locales/en_US.zip';
/** Version ids of the en_US locale archive, oldest first. */
const localeVersions: string[] = [];

beforeAll(async () => {
  h = await startCliHarness({
    s3: 'swift',
    stackName: 'BotVaultRestoreE2E',
    bots: [
      { botId: 'ALPHABOT01', botName: 'Alpha', locales: ['en_US'], intents: ['Greet', 'Order'] },
      // Not backed up: the bot a forged sidecar would point a restore at.
      { botId: 'BRAVOBOT02', botName: 'Bravo', locales: ['en_US'], intents: ['Greet'] },
    ],
    targets: [
      { provider: 'lex', botId: 'ALPHABOT01', botVersion: 'DRAFT' },
      { provider: 'lex', botId: 'ALPHABOT01', botVersion: 'DRAFT', localeId: 'en_US' },
    ],
  });
  lexEnv = { AWS_ENDPOINT_URL_LEX_MODELS_V2: h.lex.url };
});
afterAll(async () => h?.close());

async function backUp(runId: string): Promise<string> {
  const run = await runLocal({ config: h.config, bucket: h.bucket, fast: true, runId });
  expect(run.status).toBe('SUCCEEDED');
  const result = run.manifest!.results.find((r) => r.target === TARGET)!;
  expect(result.status).toBe('SUCCEEDED');
  const locale = run.manifest!.results.find((r) => r.key === LOCALE_KEY);
  if (locale?.status === 'SUCCEEDED') localeVersions.push(locale.versionId!);
  return result.versionId!;
}

/** An archive version's entries as text, by name. */
async function entries(versionId?: string, key = KEY): Promise<Record<string, string>> {
  const res = await h.s3.send(new GetObjectCommand({ Bucket: h.bucket, Key: key, VersionId: versionId }));
  return comparableEntries(await readZipEntries(Buffer.from(await res.Body!.transformToByteArray())));
}

/** What the bot's DRAFT holds right now, as a fresh export (not stored anywhere). */
async function liveEntries(): Promise<Record<string, string>> {
  const { LexModelsV2Client, CreateExportCommand, DescribeExportCommand } = await import('@aws-sdk/client-lex-models-v2');
  const lex = new LexModelsV2Client({ endpoint: h.lex.url, region: 'us-east-1' });
  try {
    const { exportId } = await lex.send(
      new CreateExportCommand({
        resourceSpecification: { botExportSpecification: { botId: 'ALPHABOT01', botVersion: 'DRAFT' } },
        fileFormat: 'LexJson',
      }),
    );
    for (;;) {
      const d = await lex.send(new DescribeExportCommand({ exportId }));
      if (d.exportStatus === 'Completed') {
        return comparableEntries(await readZipEntries(Buffer.from(await (await fetch(d.downloadUrl!)).arrayBuffer())));
      }
      await new Promise((r) => setTimeout(r, 50));
    }
  } finally {
    lex.destroy();
  }
}

const ops = () => h.lex.calls.map((c) => c.op);
const importOps = () => ops().filter((op) => ['CreateUploadUrl', 'Upload', 'StartImport', 'DescribeImport'].includes(op));

function oneLine(stderr: string): string {
  const lines = stderr.split('\n').filter(Boolean);
  expect(lines).toHaveLength(1);
  return lines[0]!;
}

describe('history: two backups with an edit in between', () => {
  it('backs up, changes the bot, backs up again', async () => {
    versions.push(await backUp('restore-e2e-1'));
    h.lex.modifyBot('ALPHABOT01', { intents: ['Greet', 'Cancel'] });
    versions.push(await backUp('restore-e2e-2'));
    expect(versions[0]).not.toBe(versions[1]);
  });
});

/** Restore details as Lex's DescribeBot, aliases and tags would give them for Alpha. */
function sidecarDetails(): NonNullable<RestoreInfo['lex']> {
  return {
    botId: 'ALPHABOT01',
    botName: 'Alpha',
    roleArn: 'arn:aws:iam::123456789012:role/FromSidecar',
    dataPrivacy: { childDirected: true },
    idleSessionTTLInSeconds: 600,
    // TestBotAlias comes with every Lex bot: only Live needs recreating.
    aliases: [
      { botAliasId: 'TSTALIASID', botAliasName: 'TestBotAlias' },
      { botAliasId: 'LIVEALIAS1', botAliasName: 'Live' },
    ],
    tags: { team: 'support' },
  };
}

/** Writes a sidecar naming archive version `versionId` with these details. */
async function putSidecar(lex: NonNullable<RestoreInfo['lex']>, versionId: string): Promise<void> {
  const current = await h.s3.send(new GetObjectCommand({ Bucket: h.bucket, Key: KEY, VersionId: versionId }));
  const info: RestoreInfo = {
    schemaVersion: 1,
    provider: 'lex',
    target: TARGET,
    capturedAt: new Date().toISOString(),
    runId: 'restore-e2e-sidecar',
    archive: { key: KEY, versionId, sha256: current.Metadata!.sha256! },
    lex,
  };
  await h.putAsStack('sidecar', restoreInfoKey(KEY), JSON.stringify(info));
}

/**
 * A new archive version (a copy of the current one) stored as StoreArchive
 * stores it with these restore details: its `restore-info-sha256` names them,
 * and the sidecar beside it holds them.
 */
async function storeWithSidecar(lex: NonNullable<RestoreInfo['lex']>): Promise<{ versionId: string }> {
  const current = await h.s3.send(new GetObjectCommand({ Bucket: h.bucket, Key: KEY }));
  const body = Buffer.from(await current.Body!.transformToByteArray());
  const { mac: _mac, ...metadata } = current.Metadata ?? {};
  const versionId = (await h.putAsStack('archive', KEY, body, {
    ...metadata,
    'restore-info-sha256': restoreInfoSha256({ id: TARGET, provider: 'lex' }, { lex }),
  }))!;
  versions.push(versionId);
  await putSidecar(lex, versionId);
  return { versionId };
}

describe('botvault restore (Lex V2)', () => {
  it('--dry-run checks the archive and the bot, and changes nothing; it fails as the import would: the bot exists and the merge is FailOnConflict (exit 1)', async () => {
    const before = await liveEntries();
    const res = await h.cli(['restore', TARGET, '--version', versions[0]!, '--dry-run', '--config', h.configFile], { env: lexEnv });
    expect(res.stderr).toBe('');
    expect(res.code).toBe(1);
    expect(res.stdout).toMatch(
      new RegExp(
        `^dry run: ${TARGET} version ${versions[0]!.replace('.', '\\.')} \\(sha256 [0-9a-f]{64} verified, MAC authentic, 9 entries\\) cannot be restored into existing bot Alpha \\(ALPHABOT01\\), merge FailOnConflict\\n`,
      ),
    );
    expect(res.stdout).toContain('note: FailOnConflict: Lex stops at the first resource that already exists');
    expect(res.stdout).toContain(
      '  the import would fail: Bot Alpha (ALPHABOT01) already exists and the merge strategy is FailOnConflict: nothing would be changed\n',
    );
    expect(res.stdout.trimEnd().split('\n').at(-1)).toBe('nothing was changed');
    // An upload URL is asked for (and checked), nothing is uploaded or imported.
    expect(importOps()).toEqual(['CreateUploadUrl']);
    expect(await liveEntries()).toEqual(before);
  });

  it('into the existing bot with the default FailOnConflict: the import fails with its reasons, exit 1 as the dry run said, the bot is as it was', async () => {
    const before = await liveEntries();
    const earlier = importOps().length;
    const res = await h.cli(['restore', TARGET, '--version', versions[0]!, '--config', h.configFile, '--poll-ms', '50'], { env: lexEnv });
    expect(res.code).toBe(1);
    expect(res.stdout).toMatch(
      /\nimport \w+: FAILED: Bot Alpha \(ALPHABOT01\) already exists and the merge strategy is FailOnConflict: nothing was changed\.\n$/,
    );
    expect(importOps().slice(earlier)).toEqual(['CreateUploadUrl', 'Upload', 'StartImport', 'DescribeImport']);
    expect(await liveEntries()).toEqual(before);
  });

  it("--merge Overwrite: the import completes; the next backup holds exactly the restored version's entries", async () => {
    const original = await entries(versions[0]);
    expect(await entries(versions[1])).not.toEqual(original);
    const res = await h.cli(
      ['restore', TARGET, '--version', versions[0]!, '--merge', 'Overwrite', '--json', '--config', h.configFile, '--poll-ms', '50'],
      { env: lexEnv },
    );
    expect(res.stderr).toBe('');
    expect(res.code).toBe(0);
    const report = JSON.parse(res.stdout) as Record<string, unknown>;
    expect(report).toMatchObject({
      target: TARGET,
      key: KEY,
      versionId: versions[0],
      verified: true,
      authenticated: true,
      entries: 9,
      dryRun: false,
      destination: { botId: 'ALPHABOT01', botName: 'Alpha', existing: true },
      mergeStrategy: 'Overwrite',
      status: 'COMPLETED',
      failureReasons: [],
    });
    const imported = h.lex.imports.get(report.importId as string)!;
    expect(imported).toMatchObject({ status: 'Completed', mergeStrategy: 'Overwrite', importedResourceId: 'ALPHABOT01' });
    expect(imported.spec).toEqual({
      botImportSpecification: {
        botName: 'Alpha',
        roleArn: expect.any(String),
        dataPrivacy: { childDirected: false },
        idleSessionTTLInSeconds: expect.any(Number),
      },
    });

    versions.push(await backUp('restore-e2e-3'));
    expect(await entries(versions[2])).toEqual(original);
  });

  it('into a new bot: needs the role when the version has no sidecar, then creates the bot from the archive', async () => {
    // A version stored without a sidecar (as backups made before sidecars were): a copy of version 2 with its sha256.
    const v2 = await h.s3.send(new GetObjectCommand({ Bucket: h.bucket, Key: KEY, VersionId: versions[1] }));
    versions.push((await h.putAsStack('archive', KEY, Buffer.from(await v2.Body!.transformToByteArray()), { 'run-id': 'copied-by-hand' }))!);
    const refused = await h.cli(['restore', TARGET, '--to-bot', 'AlphaCopy', '--config', h.configFile], { env: lexEnv });
    expect(refused.code).toBe(2);
    expect(oneLine(refused.stderr)).toBe(
      "botvault: restoring into new bot AlphaCopy needs --role-arn ARN (the bot's IAM role; exports do not hold it) (this version has no restore sidecar)",
    );
    const res = await h.cli(['restore', TARGET, '--to-bot', 'AlphaCopy', '--role-arn', ROLE, '--config', h.configFile, '--poll-ms', '50'], {
      env: lexEnv,
    });
    expect(res.stderr).toBe('');
    expect(res.code).toBe(0);
    const botId = h.lex.botIdByName('AlphaCopy');
    expect(botId).toMatch(/^[0-9A-Z]{10}$/);
    expect(res.stdout).toContain(`into new bot AlphaCopy (${botId}), merge FailOnConflict\n`);
    expect(res.stdout).toContain(`: COMPLETED; bot AlphaCopy (${botId}) holds the archive's definition\n`);
    const [started] = [...h.lex.imports.values()].filter(
      (i) => (i.spec as { botImportSpecification?: { botName?: string } })?.botImportSpecification?.botName === 'AlphaCopy',
    );
    expect(started!.spec).toEqual({
      botImportSpecification: { botName: 'AlphaCopy', roleArn: ROLE, dataPrivacy: { childDirected: false }, idleSessionTTLInSeconds: 300 },
    });
  });

  it('a locale archive into a bot that has the locale, FailOnConflict: the dry run and the restore both fail (exit 1), nothing changes', async () => {
    const before = await liveEntries();
    const args = ['restore', 'lex:ALPHABOT01:DRAFT:en_US', '--version', localeVersions[1]!, '--config', h.configFile, '--poll-ms', '50'];
    const dry = await h.cli([...args, '--dry-run'], { env: lexEnv });
    expect(dry.stderr).toBe('');
    expect(dry.code).toBe(1);
    expect(dry.stdout).toContain(
      '  the import would fail: Locale en_US of bot ALPHABOT01 already exists and the merge strategy is FailOnConflict: nothing would be changed\n',
    );
    expect(h.lex.calls.at(-2)).toMatchObject({ op: 'ListBotLocales', botId: 'ALPHABOT01', status: 200 });
    const real = await h.cli(args, { env: lexEnv });
    expect(real.code).toBe(dry.code);
    expect(real.stdout).toMatch(/\nimport \w+: FAILED: Locale en_US of bot ALPHABOT01 already exists and the merge strategy is FailOnConflict/);
    expect(await liveEntries()).toEqual(before);
  });

  it('a locale archive restores into the existing bot with botLocaleImportSpecification; the next backup holds its entries', async () => {
    h.lex.modifyBot('ALPHABOT01', { intents: ['Greet', 'Refund'] });
    const res = await h.cli(
      ['restore', 'lex:ALPHABOT01:DRAFT:en_US', '--version', localeVersions[1]!, '--merge', 'Overwrite', '--config', h.configFile, '--poll-ms', '50'],
      { env: lexEnv },
    );
    expect(res.stderr).toBe('');
    expect(res.code).toBe(0);
    expect(res.stdout).toContain('into existing bot Alpha (ALPHABOT01), merge Overwrite\n');
    const [last] = [...h.lex.imports.values()].slice(-1);
    expect(last).toMatchObject({
      status: 'Completed',
      spec: { botLocaleImportSpecification: { botId: 'ALPHABOT01', botVersion: 'DRAFT', localeId: 'en_US' } },
    });
    await backUp('restore-e2e-locale');
    expect(await entries(undefined, LOCALE_KEY)).toEqual(await entries(localeVersions[1], LOCALE_KEY));
  });

  it('a restore sidecar supplies what the export leaves out (role, privacy, TTL, tags)', async () => {
    const { versionId } = await storeWithSidecar(sidecarDetails());
    const res = await h.cli(['restore', TARGET, '--version', versionId, '--to-bot', 'AlphaFromSidecar', '--dry-run', '--config', h.configFile], {
      env: lexEnv,
    });
    expect(res.stderr).toBe('');
    expect(res.code).toBe(0);
    expect(res.stdout).toContain('can be restored into new bot AlphaFromSidecar, merge FailOnConflict\n');
    expect(res.stdout).toContain('  roleArn: restore sidecar\n');
    expect(res.stdout).toContain('  dataPrivacy.childDirected: restore sidecar\n');
    expect(res.stdout).toContain('  idleSessionTTLInSeconds: restore sidecar\n');
    expect(res.stdout).toContain('note: the bot had 1 alias (Live); imports do not create aliases');
    expect(h.lex.botIdByName('AlphaFromSidecar')).toBeUndefined();
  });

  it("a sidecar rewritten after its archive was stored is not used; the version's own, earlier in the sidecar's history, is", async () => {
    const { versionId } = await storeWithSidecar(sidecarDetails());
    // The attacker's edit: only the sidecar, naming the same archive version, with a role of their own.
    await putSidecar({ ...sidecarDetails(), roleArn: 'arn:aws:iam::999999999999:role/Attacker' }, versionId);
    const res = await h.cli(['restore', TARGET, '--version', versionId, '--to-bot', 'AlphaForged', '--config', h.configFile, '--poll-ms', '50'], {
      env: lexEnv,
    });
    expect(res.stderr).toContain(`botvault: warning: not using ${restoreInfoKey(KEY)} version`);
    expect(res.stderr).toContain(
      'its details are not the ones the archive version was stored with (restore-info-sha256 differs): it was changed since',
    );
    expect(res.code).toBe(0);
    const [started] = [...h.lex.imports.values()].filter(
      (i) => (i.spec as { botImportSpecification?: { botName?: string } })?.botImportSpecification?.botName === 'AlphaForged',
    );
    expect((started!.spec as { botImportSpecification: { roleArn: string } }).botImportSpecification.roleArn).toBe(
      'arn:aws:iam::123456789012:role/FromSidecar',
    );
  });

  it("a sidecar that names another bot cannot redirect the restore: the archive's own bot is the destination, with or without a dry run", async () => {
    // Consistent hashes (the archive version vouches for these details), but the details name Bravo: the key is Alpha's.
    const { versionId } = await storeWithSidecar({ ...sidecarDetails(), botId: 'BRAVOBOT02', botName: 'Bravo' });
    for (const dry of [['--dry-run'], []]) {
      const before = [...h.lex.imports.values()].length;
      const res = await h.cli(
        ['restore', TARGET, '--version', versionId, '--merge', 'Overwrite', ...dry, '--config', h.configFile, '--poll-ms', '50'],
        {
          env: lexEnv,
        },
      );
      expect(res.stderr).toContain("it names bot BRAVOBOT02, and the archive is bot ALPHABOT01's");
      expect(res.code).toBe(0);
      expect(res.stdout).toContain('into existing bot Alpha (ALPHABOT01), merge Overwrite');
      expect(res.stdout).not.toContain('BRAVOBOT02');
      // Only imports that were started (a dry run asks for an upload URL, and starts none).
      const started = [...h.lex.imports.values()].slice(before).filter((i) => i.spec !== undefined);
      expect(started.every((i) => (i.spec as { botImportSpecification?: { botName?: string } }).botImportSpecification?.botName === 'Alpha')).toBe(
        true,
      );
      expect(started).toHaveLength(dry.length ? 0 : 1);
    }
    expect(h.lex.botIdByName('Bravo')).toBe('BRAVOBOT02');
  });

  it("a new bot does not take the sidecar's role from another account: refused, dry run and real alike, until --role-arn names one", async () => {
    const foreign = 'arn:aws:iam::999999999999:role/OtherAccountRole';
    const { versionId } = await storeWithSidecar({ ...sidecarDetails(), roleArn: foreign });
    for (const dry of [['--dry-run'], []]) {
      const res = await h.cli(['restore', TARGET, '--version', versionId, '--to-bot', 'AlphaElsewhere', ...dry, '--config', h.configFile], {
        env: lexEnv,
      });
      expect(res.code).toBe(2);
      expect(oneLine(res.stderr)).toBe(
        `botvault: the restore sidecar's role ${foreign} is in account 999999999999, and new bot AlphaElsewhere would be created in account ${h.sts.accountId}: give the bot's role with --role-arn`,
      );
    }
    expect(h.lex.botIdByName('AlphaElsewhere')).toBeUndefined();
    const ok = await h.cli(
      ['restore', TARGET, '--version', versionId, '--to-bot', 'AlphaElsewhere', '--role-arn', ROLE, '--dry-run', '--config', h.configFile],
      {
        env: lexEnv,
      },
    );
    expect(ok.code).toBe(0);
    expect(ok.stdout).toContain('  roleArn: --role-arn\n');
    expect(h.sts.calls).toContain('GetCallerIdentity');
  });

  it('an upload URL that is neither https nor allowlisted is refused before any byte leaves, by the dry run too; nothing is imported', async () => {
    const strict = join(h.dir, 'strict.config.json');
    writeFileSync(
      strict,
      JSON.stringify({ stackName: 'BotVaultRestoreE2E', targets: [{ provider: 'lex', botId: 'ALPHABOT01', botVersion: 'DRAFT' }] }),
    );
    for (const dry of [['--dry-run'], []]) {
      const before = h.lex.calls.length;
      const res = await h.cli(['restore', TARGET, '--merge', 'Overwrite', ...dry, '--config', strict], { env: lexEnv });
      expect(res.code).toBe(2);
      const line = oneLine(res.stderr);
      expect(line).toMatch(/^botvault: refusing to upload the archive: http:\/\/127\.0\.0\.1:\d+\/uploads\/\w+: only https is allowed/);
      // The presigned URL is a credential: only scheme, host and path are shown.
      expect(line).not.toContain('X-Amz-');
      expect(h.lex.calls.slice(before).map((c) => c.op)).toEqual(['DescribeBot', 'CreateUploadUrl']);
    }
  });

  it('a version with no sha256 metadata (planted, or its metadata lost) is refused unless --accept-unverified, which says UNVERIFIED', async () => {
    const current = await h.s3.send(new GetObjectCommand({ Bucket: h.bucket, Key: KEY }));
    const planted = await h.s3.send(
      new PutObjectCommand({
        Bucket: h.bucket,
        Key: KEY,
        Body: Buffer.from(await current.Body!.transformToByteArray()),
        Metadata: { 'run-id': 'planted' },
      }),
    );
    versions.push(planted.VersionId!);
    const before = h.lex.calls.length;
    const refused = await h.cli(['restore', TARGET, '--version', planted.VersionId!, '--merge', 'Overwrite', '--dry-run', '--config', h.configFile], {
      env: lexEnv,
    });
    expect(refused.code).toBe(2);
    expect(oneLine(refused.stderr)).toBe(
      `botvault: ${KEY} version ${planted.VersionId} has no sha256 metadata, so nothing vouches for its bytes (not stored by BotVault, or its metadata was lost). Nothing of it was used; --accept-unverified uses it anyway`,
    );
    expect(h.lex.calls.length).toBe(before);
    const accepted = await h.cli(
      ['restore', TARGET, '--version', planted.VersionId!, '--merge', 'Overwrite', '--dry-run', '--accept-unverified', '--config', h.configFile],
      { env: lexEnv },
    );
    expect(accepted.code).toBe(0);
    expect(accepted.stderr).toContain('restoring it UNVERIFIED (--accept-unverified)');
    expect(accepted.stdout).toContain(' UNVERIFIED, ');
  });

  it('a version whose bytes do not match their sha256: exit 2 before anything is uploaded', async () => {
    await h.s3.send(
      new PutObjectCommand({ Bucket: h.bucket, Key: KEY, Body: Buffer.from('PK\x03\x04 not the archive'), Metadata: { sha256: '0'.repeat(64) } }),
    );
    const before = h.lex.calls.length;
    const res = await h.cli(['restore', TARGET, '--merge', 'Overwrite', '--config', h.configFile], { env: lexEnv });
    expect(res.code).toBe(2);
    expect(oneLine(res.stderr)).toMatch(
      /^botvault: sha256 mismatch for lex\/123456789012\/us-east-1\/ALPHABOT01\/DRAFT\/bot\.zip version \S+: the bytes hash to [0-9a-f]{64} but BotVault stored 0{64}; /,
    );
    expect(h.lex.calls.length).toBe(before);
  });
});
