/**
 * `botvault restore --to-account/--to-region` end to end (issue 16): a Lex
 * bot backed up in the home account (123456789012, us-east-1) is restored
 * into member account 222233334444 in eu-west-1, through the member
 * template's restore role, which the STS simulator hands out only to the
 * harness's home identity with the right external ID. Lex is an estate of
 * per-account, per-region simulators routed by the signer's account and the
 * signed region (lex-estate.ts), so where a call lands is where AWS would
 * put it. The bot's archive holds ARNs (a Kendra index, a Bedrock knowledge
 * base and foundation model, a Lambda quoted in the description) and its
 * sidecar more (role, alias code hook, log group, KMS key, bucket, a tag);
 * the dry run shows each rewrite, the restore lands them rewritten in the
 * member account and leaves the home account alone, and an ARN of a third
 * account stops the restore until --map-arn maps it. No output carries the
 * assumed credentials or a presigned URL.
 *
 * The tests share one versioned bucket (Swift) and run in order.
 */
import {
  CreateExportCommand,
  CreateUploadUrlCommand,
  DescribeExportCommand,
  DescribeImportCommand,
  LexModelsV2Client,
  StartImportCommand,
} from '@aws-sdk/client-lex-models-v2';
import { GetObjectCommand } from '@aws-sdk/client-s3';
import { AssumeRoleCommand, STSClient } from '@aws-sdk/client-sts';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readZipEntries } from '../../lib/core/archive/zip';
import { runLocal } from '../../lib/local/runner';
import { lexExportEntries, sampleLexBot } from '../generators/lex-export';
import { comparableEntries } from '../generators/normalize';
import { writeZip } from '../generators/zip-writer';
import { type CliHarness, type CliResult, HARNESS_ACCOUNT, startCliHarness } from './cli-harness';

const HOME = HARNESS_ACCOUNT;
const MEMBER = '222233334444';
const THIRD = '999988887777';
const REGION = 'eu-west-1';
const TARGET = 'lex:ALPHABOT01:DRAFT';
const KEY = `lex/${HOME}/us-east-1/ALPHABOT01/DRAFT/bot.zip`;
const EXTERNAL_ID = 'botvault-prod-eu-7f3a';
const RESTORE_ROLE = `arn:aws:iam::${MEMBER}:role/BotVaultRestore`;

// The ARNs of the home bot, and what a restore into MEMBER/eu-west-1 makes of them.
const HOOK = `arn:aws:lambda:us-east-1:${HOME}:function:Hook`;
const ROLE = `arn:aws:iam::${HOME}:role/LexAlphaRole`;
const LOGS = `arn:aws:logs:us-east-1:${HOME}:log-group:/aws/lex/Alpha`;
const KMS = `arn:aws:kms:us-east-1:${HOME}:key/1234abcd-12ab-34cd-56ef-1234567890ab`;
const BUCKET = 'arn:aws:s3:::alpha-audio-logs';
const OWNER = `arn:aws:iam::${HOME}:role/SupportTeam`;
const KENDRA = `arn:aws:kendra:us-east-1:${HOME}:index/0123456789abcdef0123456789abcdef`;
const KB = `arn:aws:bedrock:us-east-1:${HOME}:knowledge-base/KB12345678`;
const MODEL = 'arn:aws:bedrock:us-east-1::foundation-model/anthropic.claude-3-haiku-20240307-v1:0';
const SHARED_HOOK = `arn:aws:lambda:us-east-1:${THIRD}:function:SharedHook`;
const SHARED_HOOK_EU = `arn:aws:lambda:${REGION}:${MEMBER}:function:SharedHook`;
const moved = (arn: string) =>
  arn.replace(`:us-east-1:${HOME}:`, `:${REGION}:${MEMBER}:`).replace(`::${HOME}:`, `::${MEMBER}:`).replace(':us-east-1::', `:${REGION}::`);

const CODE_HOOK = 'botAliasLocaleSettings.en_US.codeHookSpecification.lambdaCodeHook.lambdaARN';
/** Every rewrite of the first version: from, to, rule, where (archive entries by their path below the bot folder). */
const REWRITES = [
  [HOOK, 'account and region', ['Alpha/Bot.json description', `sidecar aliases[Live].${CODE_HOOK}`]],
  [KENDRA, 'account and region', ['Alpha/BotLocales/en_US/Intents/Search/Intent.json kendraConfiguration.kendraIndex']],
  [
    KB,
    'account and region',
    [
      'Alpha/BotLocales/en_US/Intents/Answers/Intent.json qnAIntentConfiguration.dataSourceConfiguration.bedrockKnowledgeStoreConfiguration.bedrockKnowledgeBaseArn',
    ],
  ],
  [MODEL, 'region', ['Alpha/BotLocales/en_US/Intents/Answers/Intent.json qnAIntentConfiguration.bedrockModelConfiguration.modelArn']],
  [ROLE, 'account', ['sidecar roleArn']],
  [LOGS, 'account and region', ['sidecar aliases[Live].conversationLogSettings.textLogSettings[0].destination.cloudWatch.cloudWatchLogGroupArn']],
  [KMS, 'account and region', ['sidecar aliases[Live].conversationLogSettings.audioLogSettings[0].destination.s3Bucket.kmsKeyArn']],
  [OWNER, 'account', ['sidecar tags.owner']],
] as const;

const LIVE_ALIAS = {
  botAliasId: 'LIVEALIAS1',
  botAliasName: 'Live',
  botVersion: '1',
  botAliasLocaleSettings: {
    en_US: { enabled: true, codeHookSpecification: { lambdaCodeHook: { lambdaARN: HOOK, codeHookInterfaceVersion: '1.0' } } },
  },
  conversationLogSettings: {
    textLogSettings: [{ enabled: true, destination: { cloudWatch: { cloudWatchLogGroupArn: LOGS, logPrefix: 'alpha/' } } }],
    audioLogSettings: [{ enabled: true, destination: { s3Bucket: { s3BucketArn: BUCKET, kmsKeyArn: KMS, logPrefix: 'audio/' } } }],
  },
};
const TEST_ALIAS = {
  botAliasId: 'TSTALIASID',
  botAliasName: 'TestBotAlias',
  botVersion: 'DRAFT',
  botAliasLocaleSettings: { en_US: { enabled: true } },
};

// biome-ignore lint/suspicious/noControlCharactersInRegex: terminal escape sequences are what is stripped
const ANSI = /\x1b\[[0-9;?]*[A-Za-z]/g;

let h: CliHarness;
/** Every CLI result of this file: the sentinel test reads them all. */
const outputs: CliResult[] = [];
const versions: string[] = [];

async function cli(args: string[], o: { tty?: boolean } = {}): Promise<CliResult> {
  const res = await h.cli([...args, '--config', h.configFile], { env: { AWS_ENDPOINT_URL_LEX_MODELS_V2: h.estate!.url }, ...o });
  outputs.push(res);
  return res;
}
const restore = (...args: string[]) => cli(['restore', TARGET, ...args, '--poll-ms', '50']);

const homeCredentials = () => ({ accessKeyId: h.env.AWS_ACCESS_KEY_ID!, secretAccessKey: h.env.AWS_SECRET_ACCESS_KEY! });
const member = () => h.estate!.tenant(MEMBER, REGION);
const memberCalls = () => h.estate!.calls.filter((c) => c.account === MEMBER).map((c) => c.op);
const homeCalls = () => h.estate!.calls.filter((c) => c.account === HOME).map((c) => c.op);

/** Credentials of the member account's restore role, as the test's own (not the CLI's). */
async function memberCredentials() {
  const sts = new STSClient({ endpoint: h.sts.url, region: 'us-east-1', credentials: homeCredentials() });
  try {
    const { Credentials: c } = await sts.send(
      new AssumeRoleCommand({ RoleArn: RESTORE_ROLE, RoleSessionName: 'e2e-inspect', ExternalId: EXTERNAL_ID }),
    );
    return { accessKeyId: c!.AccessKeyId!, secretAccessKey: c!.SecretAccessKey!, sessionToken: c!.SessionToken! };
  } finally {
    sts.destroy();
  }
}

function lexAt(region: string, credentials: { accessKeyId: string; secretAccessKey: string; sessionToken?: string }) {
  return new LexModelsV2Client({ endpoint: h.estate!.url, region, credentials, maxAttempts: 1 });
}

/** A bot's DRAFT as a fresh export from Lex at `region` with `credentials`, its entries as comparable text. */
async function exportDraft(lex: LexModelsV2Client, botId: string): Promise<Record<string, string>> {
  const { exportId } = await lex.send(
    new CreateExportCommand({ resourceSpecification: { botExportSpecification: { botId, botVersion: 'DRAFT' } }, fileFormat: 'LexJson' }),
  );
  for (;;) {
    const d = await lex.send(new DescribeExportCommand({ exportId }));
    if (d.exportStatus === 'Completed')
      return comparableEntries(await readZipEntries(Buffer.from(await (await fetch(d.downloadUrl!)).arrayBuffer())));
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** The home bot's definition with ARNs: what an operator's bot holds, imported into the home account's Lex. */
async function importArnsIntoHomeBot(): Promise<void> {
  const model = sampleLexBot('ALPHABOT01', 'Alpha', ['Greet', 'Order']);
  model.description = `Fulfilled by ${HOOK}.`;
  const intent = (name: string, body: Record<string, unknown>) => ({
    name: `Alpha/BotLocales/en_US/Intents/${name}/Intent.json`,
    data: JSON.stringify({
      name,
      identifier: `${name.toUpperCase().padEnd(10, 'X').slice(0, 10)}`,
      description: null,
      sampleUtterances: null,
      ...body,
    }),
  });
  const files = [
    ...lexExportEntries(model),
    intent('Search', {
      parentIntentSignature: 'AMAZON.KendraSearchIntent',
      kendraConfiguration: { kendraIndex: KENDRA, queryFilterStringEnabled: false, queryFilterString: null },
    }),
    intent('Answers', {
      parentIntentSignature: 'AMAZON.QnAIntent',
      qnAIntentConfiguration: {
        dataSourceConfiguration: { bedrockKnowledgeStoreConfiguration: { bedrockKnowledgeBaseArn: KB, exactResponse: false } },
        bedrockModelConfiguration: { modelArn: MODEL },
      },
    }),
  ];
  const zip = await writeZip(files, { mtime: new Date(Date.UTC(2026, 10, 1)) });
  const lex = lexAt('us-east-1', homeCredentials());
  try {
    const { importId, uploadUrl } = await lex.send(new CreateUploadUrlCommand({}));
    expect((await fetch(uploadUrl!, { method: 'PUT', body: zip })).status).toBe(200);
    await lex.send(
      new StartImportCommand({
        importId,
        resourceSpecification: { botImportSpecification: { botName: 'Alpha', roleArn: ROLE, dataPrivacy: { childDirected: false } } },
        mergeStrategy: 'Overwrite',
      }),
    );
    for (;;) {
      const d = await lex.send(new DescribeImportCommand({ importId }));
      if (d.importStatus === 'Completed') return;
      expect(d.importStatus).toBe('InProgress');
      await new Promise((r) => setTimeout(r, 20));
    }
  } finally {
    lex.destroy();
  }
}

async function backUp(runId: string): Promise<string> {
  const run = await runLocal({ config: h.config, bucket: h.bucket, fast: true, runId });
  expect(run.status).toBe('SUCCEEDED');
  const result = run.manifest!.results.find((r) => r.target === TARGET)!;
  expect(result.status).toBe('SUCCEEDED');
  return result.versionId!;
}

/** Entries as comparable text without what an import assigns anew: every `identifier`, and Bot.json's session TTL. */
function importedView(entries: Record<string, string>): Record<string, string> {
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
  return Object.fromEntries(
    Object.entries(entries).map(([name, text]) => {
      const json = strip(JSON.parse(text)) as Record<string, unknown>;
      if (name.endsWith('/Bot.json')) delete json.idleSessionTTLInSeconds;
      return [name, JSON.stringify(json)];
    }),
  );
}

async function storedEntries(versionId: string): Promise<Map<string, Buffer>> {
  const res = await h.s3.send(new GetObjectCommand({ Bucket: h.bucket, Key: KEY, VersionId: versionId }));
  return readZipEntries(Buffer.from(await res.Body!.transformToByteArray()));
}

beforeAll(async () => {
  h = await startCliHarness({
    s3: 'swift',
    stackName: 'BotVaultCrossAccountRestoreE2E',
    bots: [
      {
        botId: 'ALPHABOT01',
        botName: 'Alpha',
        locales: ['en_US'],
        intents: ['Greet', 'Order'],
        settings: { roleArn: ROLE, idleSessionTTLInSeconds: 600, aliases: [TEST_ALIAS, LIVE_ALIAS], tags: { team: 'support', owner: OWNER } },
      },
    ],
    targets: [{ provider: 'lex', botId: 'ALPHABOT01', botVersion: 'DRAFT' }],
    accounts: [{ id: MEMBER, name: 'prod-eu', roleArn: `arn:aws:iam::${MEMBER}:role/BotVaultBackup`, externalId: EXTERNAL_ID }],
    lexEstate: {
      tenants: { [`${MEMBER}/${REGION}`]: {} },
      // The member template's restore role: RestorePrincipalArns names the operator, the external ID is the stack's.
      roles: [{ roleArn: RESTORE_ROLE, trustedPrincipals: [`arn:aws:iam::${HOME}:user/botvault-operator`], externalId: EXTERNAL_ID }],
    },
  });
  await importArnsIntoHomeBot();
  versions.push(await backUp('cross-account-1'));
}, 120_000);
afterAll(async () => h?.close());

describe('restore --to-account: the dry run', () => {
  it('shows every ARN rewrite (from, to, rule, where) and those kept, and changes nothing in either account', async () => {
    const homeBefore = homeCalls().length;
    const res = await restore('--to-account', 'prod-eu', '--to-region', REGION, '--dry-run');
    expect(res.stderr).toBe('');
    expect(res.code).toBe(0);
    const lines = res.stdout.split('\n');
    expect(lines[0]).toMatch(
      new RegExp(
        `^dry run: ${TARGET} version \\S+ \\(sha256 [0-9a-f]{64} verified, MAC authentic, \\d+ entries\\) can be restored into new bot Alpha, merge FailOnConflict$`,
      ),
    );
    expect(lines[1]).toBe(`  into account ${MEMBER} region ${REGION} as ${RESTORE_ROLE}`);
    expect(res.stdout).toContain('  roleArn: restore sidecar (ARN rewritten)\n');
    expect(res.stdout).toContain(`  ARN rewrites (${REWRITES.length}) from account ${HOME} region us-east-1:\n`);
    for (const [from, rule, where] of REWRITES) {
      expect(res.stdout, from).toContain(`    ${from}\n      → ${moved(from)} (${rule})\n${where.map((w) => `      in ${w}\n`).join('')}`);
    }
    expect(res.stdout).toContain(
      `  ARNs kept (1):\n    ${BUCKET}: names no account and no region\n      in sidecar aliases[Live].conversationLogSettings.audioLogSettings[0].destination.s3Bucket.s3BucketArn\n`,
    );
    expect(res.stdout).toContain('  note: 3 entries have ARNs rewritten: the upload is the archive rebuilt with them\n');
    expect(res.stdout).toContain(
      "  note: the bot had 1 alias (Live); imports do not create aliases: recreate them after building a version (their settings, ARNs rewritten, are the --json report's aliases)\n",
    );
    expect(lines.at(-2)).toBe('nothing was changed');

    // The member account was asked (through the role) and given nothing; the home account was not touched at all.
    expect(memberCalls()).toEqual(['DescribeBot', 'ListBots', 'CreateUploadUrl']);
    expect([...member().imports.values()].every((i) => !i.started && !i.uploaded)).toBe(true);
    expect(member().botIdByName('Alpha')).toBeUndefined();
    expect(homeCalls().slice(homeBefore)).toEqual([]);
  });

  it('--json: the rewrites, the kept ARNs, the destination and the aliases to recreate with their ARNs rewritten', async () => {
    const res = await restore('--to-account', MEMBER, '--to-region', REGION, '--dry-run', '--json');
    expect(res.stderr).toBe('');
    expect(res.code).toBe(0);
    const report = JSON.parse(res.stdout);
    expect(report).toMatchObject({
      status: 'DRY_RUN',
      destination: { botId: null, botName: 'Alpha', existing: false, account: MEMBER, region: REGION },
      failureReasons: [],
    });
    const byFrom = (a: { from: string }, b: { from: string }) => a.from.localeCompare(b.from);
    expect([...report.arns.rewritten].sort(byFrom)).toEqual(
      REWRITES.map(([from, rule, where]) => ({ from, to: moved(from), rule, where })).sort(byFrom),
    );
    expect(report.arns).toMatchObject({
      from: { account: HOME, region: 'us-east-1' },
      kept: [{ arn: BUCKET, reason: 'names no account and no region', where: [expect.stringContaining('s3BucketArn')] }],
      roleArn: RESTORE_ROLE,
      uploadSha256: expect.stringMatching(/^[0-9a-f]{64}$/),
    });
    expect(report.aliases).toEqual([
      {
        ...LIVE_ALIAS,
        botAliasLocaleSettings: {
          en_US: { enabled: true, codeHookSpecification: { lambdaCodeHook: { lambdaARN: moved(HOOK), codeHookInterfaceVersion: '1.0' } } },
        },
        conversationLogSettings: {
          textLogSettings: [{ enabled: true, destination: { cloudWatch: { cloudWatchLogGroupArn: moved(LOGS), logPrefix: 'alpha/' } } }],
          audioLogSettings: [{ enabled: true, destination: { s3Bucket: { s3BucketArn: BUCKET, kmsKeyArn: moved(KMS), logPrefix: 'audio/' } } }],
        },
      },
    ]);
    expect(report.uploadSha256).toBeUndefined();
    expect(report.sha256).not.toBe(report.arns.uploadSha256);
  });

  it('on a terminal every line fits 120 columns, the table included, nothing cut', async () => {
    const tty = await cli(['restore', TARGET, '--to-account', 'prod-eu', '--to-region', REGION, '--dry-run'], { tty: true });
    expect(tty.code, tty.stdout).toBe(0);
    const screen = tty.stdout.replace(/\r\n/g, '\n').replace(ANSI, '\n').split('\n').filter(Boolean);
    expect(screen.filter((l) => l.length > 120)).toEqual([]);
    expect(screen.join('\n')).not.toMatch(/[0-9a-f]{64}/);
    expect(screen.join('\n')).not.toContain('…');
    for (const [from] of REWRITES) expect(screen.join('\n')).toContain(moved(from));
  });
});

describe('restore --to-account: the restore', () => {
  it('lands in the member account in eu-west-1: a new bot, its definition with the archive ARNs rewritten, the rewritten role and tags; the home account is untouched', async () => {
    const homeBefore = homeCalls().length;
    const res = await restore('--to-account', 'prod-eu', '--to-region', REGION);
    expect(res.stderr).toBe('');
    expect(res.code).toBe(0);
    const botId = member().botIdByName('Alpha');
    expect(botId).toMatch(/^[0-9A-Z]{10}$/);
    expect(res.stdout).toContain(`  into account ${MEMBER} region ${REGION} as ${RESTORE_ROLE}\n`);
    expect(res.stdout).toContain(`: COMPLETED; bot Alpha (${botId}) holds the archive's definition\n`);

    const [started] = [...member().imports.values()].filter((i) => i.started);
    expect(started).toMatchObject({ status: 'Completed', mergeStrategy: 'FailOnConflict', importedResourceId: botId });
    expect(started!.spec).toEqual({
      botImportSpecification: {
        botName: 'Alpha',
        roleArn: moved(ROLE),
        dataPrivacy: { childDirected: false },
        idleSessionTTLInSeconds: 600,
        botTags: { team: 'support', owner: moved(OWNER) },
      },
    });

    // The member account's DRAFT is the archive's definition with each ARN rewritten, and names the home account nowhere.
    const creds = await memberCredentials();
    const lex = lexAt(REGION, creds);
    let landed: Record<string, string>;
    try {
      landed = await exportDraft(lex, botId!);
    } finally {
      lex.destroy();
    }
    const stored = comparableEntries(await storedEntries(versions[0]!));
    const expected = Object.fromEntries(
      Object.entries(stored).map(([name, text]) => [name, REWRITES.reduce((t, [from]) => t.split(from).join(moved(from)), text)]),
    );
    // Lex gives an imported bot's resources identifiers of its own, and Bot.json the import's settings (the sidecar's TTL).
    expect(importedView(landed)).toEqual(importedView(expected));
    expect(Object.values(stored).join('\n')).toContain(HOME);
    expect(Object.values(landed).join('\n')).not.toContain(HOME);
    expect(landed['Alpha/BotLocales/en_US/Intents/Search/Intent.json']).toContain(`"kendraIndex":"arn:aws:kendra:${REGION}:${MEMBER}:index/`);

    // Home: nothing imported, nothing uploaded, the bot as the backup has it.
    expect(homeCalls().slice(homeBefore)).toEqual([]);
    expect(h.lex.botIdByName('Alpha')).toBe('ALPHABOT01');
    expect(h.lex.imports.size).toBe(1); // the test's own set-up import
    const home = lexAt('us-east-1', homeCredentials());
    try {
      expect(await exportDraft(home, 'ALPHABOT01')).toEqual(stored);
    } finally {
      home.destroy();
    }
  });

  it('the member account now holds Alpha: a second restore is FailOnConflict there (dry run exit 1, as the import would)', async () => {
    const res = await restore('--to-account', 'prod-eu', '--to-region', REGION, '--to-bot', 'Alpha', '--dry-run');
    expect(res.code).toBe(1);
    expect(res.stdout).toContain(`cannot be restored into existing bot Alpha (${member().botIdByName('Alpha')}), merge FailOnConflict`);
    expect(res.stdout).toMatch(/ {2}the import would fail: Bot Alpha \(\w+\) already exists/);
  });
});

describe('restore --to-account: ARNs of a third account', () => {
  it('an alias whose code hook is in a third account: refused (exit 2) naming the ARN and --map-arn, before Lex is asked anything', async () => {
    h.lex.setBotSettings('ALPHABOT01', {
      aliases: [
        TEST_ALIAS,
        LIVE_ALIAS,
        {
          botAliasId: 'SHAREDALI1',
          botAliasName: 'Shared',
          botAliasLocaleSettings: {
            en_US: { enabled: true, codeHookSpecification: { lambdaCodeHook: { lambdaARN: SHARED_HOOK, codeHookInterfaceVersion: '1.0' } } },
          },
        },
      ],
    });
    h.lex.modifyBot('ALPHABOT01', { intents: ['Greet', 'Order', 'Cancel'] });
    versions.push(await backUp('cross-account-2'));
    const before = memberCalls().length;
    for (const dry of [['--dry-run'], []]) {
      const res = await restore('--version', versions[1]!, '--to-account', 'prod-eu', '--to-region', REGION, '--to-bot', 'AlphaShared', ...dry);
      expect(res.code).toBe(2);
      expect(res.stdout).toBe('');
      expect(res.stderr).toBe(
        `botvault: 1 ARN cannot be mapped to the destination: ${SHARED_HOOK} (account ${THIRD} is neither the source's (${HOME}) nor the destination's (${MEMBER}); in sidecar aliases[Shared].${CODE_HOOK}); give --map-arn FROM=TO for it (or FROM*=TO* for a prefix)\n`,
      );
    }
    expect(memberCalls().slice(before)).toEqual([]);
    expect(member().botIdByName('AlphaShared')).toBeUndefined();
  });

  it('with --map-arn it restores, the mapped ARN in the aliases to recreate', async () => {
    const res = await restore(
      '--version',
      versions[1]!,
      '--to-account',
      'prod-eu',
      '--to-region',
      REGION,
      '--to-bot',
      'AlphaShared',
      '--map-arn',
      `${SHARED_HOOK}=${SHARED_HOOK_EU}`,
      '--json',
    );
    expect(res.stderr).toBe('');
    expect(res.code).toBe(0);
    const report = JSON.parse(res.stdout);
    expect(report).toMatchObject({ status: 'COMPLETED', destination: { botName: 'AlphaShared', existing: false, account: MEMBER, region: REGION } });
    expect(report.arns.rewritten).toContainEqual({
      from: SHARED_HOOK,
      to: SHARED_HOOK_EU,
      rule: 'mapped',
      mapping: `${SHARED_HOOK}=${SHARED_HOOK_EU}`,
      where: [`sidecar aliases[Shared].${CODE_HOOK}`],
    });
    expect(report.aliases.map((a: { botAliasName: string }) => a.botAliasName)).toEqual(['Live', 'Shared']);
    expect(report.aliases[1].botAliasLocaleSettings.en_US.codeHookSpecification.lambdaCodeHook.lambdaARN).toBe(SHARED_HOOK_EU);
    expect(member().botIdByName('AlphaShared')).toBe(report.destination.botId);
    expect(JSON.stringify([...member().imports.values()].at(-1)!.spec)).not.toContain(HOME);
  });
});

describe('restore --to-account: what it refuses before anything', () => {
  it('an account the config does not name, a wrong external ID, --map-arn without a destination, a bad region: exit 2, one line', async () => {
    const before = { member: memberCalls().length, home: homeCalls().length };
    const cases: [string[], RegExp][] = [
      [['--to-account', 'staging'], /^botvault: --to-account "staging" is not an entry of accounts \(known: "home", "prod-eu"\)/],
      [
        ['--to-account', 'prod-eu', '--external-id', 'not-the-one'],
        new RegExp(
          `^botvault: access denied for STS AssumeRole ${RESTORE_ROLE} \\(external ID not-the-one\\): your AWS identity needs permission for it`,
        ),
      ],
      [
        ['--to-account', 'prod-eu', '--role-to-assume', `arn:aws:iam::${THIRD}:role/BotVaultRestore`],
        new RegExp(`is not a role of account ${MEMBER}$`),
      ],
      [['--map-arn', `${SHARED_HOOK}=${SHARED_HOOK_EU}`], /^botvault: --map-arn goes with --to-account or --to-region$/],
      [['--to-region', 'mars-1'], /^botvault: --to-region mars-1: not an AWS region/],
      [['--to-account', 'prod-eu', '--map-arn', 'nonsense'], /^botvault: --map-arn nonsense: expected FROM=TO/],
    ];
    for (const [args, message] of cases) {
      const res = await restore(...args, '--dry-run');
      expect(res.code, args.join(' ')).toBe(2);
      const lines = res.stderr.split('\n').filter(Boolean);
      expect(lines, args.join(' ')).toHaveLength(1);
      expect(lines[0]).toMatch(message);
    }
    expect(memberCalls().length).toBe(before.member);
    expect(homeCalls().length).toBe(before.home);
  });

  it('--to-region alone: the caller’s own account, the region moved, IAM ARNs (no region) kept', async () => {
    const res = await restore('--version', versions[0]!, '--to-region', REGION, '--dry-run', '--json');
    expect(res.stderr).toBe('');
    expect(res.code).toBe(0);
    const report = JSON.parse(res.stdout);
    expect(report.destination).toMatchObject({ account: HOME, region: REGION, existing: false });
    expect(report.arns.roleArn).toBeUndefined();
    expect(report.arns.rewritten).toContainEqual(
      expect.objectContaining({ from: HOOK, to: `arn:aws:lambda:${REGION}:${HOME}:function:Hook`, rule: 'region' }),
    );
    expect(report.arns.kept).toContainEqual(expect.objectContaining({ arn: ROLE, reason: 'it already names the destination' }));
    expect(h.estate!.calls.filter((c) => c.account === HOME && c.region === REGION).map((c) => c.op)).not.toContain('StartImport');
  });
});

describe('secrets', () => {
  it("no output carries the assumed credentials or a presigned URL's signature", () => {
    const issued = h.sts.credentials.issued;
    expect(issued.filter((p) => p.roleArn === RESTORE_ROLE && p.roleSessionName === 'botvault-restore').length).toBeGreaterThan(3);
    const text = outputs.map((o) => `${o.stdout}\n${o.stderr}`).join('\n');
    expect(text).toContain(RESTORE_ROLE);
    for (const p of issued) {
      expect(text).not.toContain(p.secretAccessKey);
      expect(text).not.toContain(p.sessionToken!);
      expect(text).not.toContain(p.accessKeyId);
    }
    expect(text).not.toContain(h.env.AWS_SECRET_ACCESS_KEY!);
    expect(text).not.toMatch(/X-Amz-Signature|X-Amz-Credential|\/uploads\//i);
  });
});
