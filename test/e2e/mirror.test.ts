/**
 * `botvault mirror --git DIR` end to end: real backups of Lex bots (the
 * synthesized workflow via runLocal, against the Lex V2 simulator and
 * versioned S3 on OpenStack Swift), the real command line as a child process,
 * and the real git binary making and reading the repository.
 *
 * The tests share one bucket and run in order: Alpha gets three backups, then
 * a fourth (incremental mirror); Charlie gets versions that fail verification
 * planted between good ones; Bravo is exported password-protected.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { GetObjectCommand, HeadObjectCommand, PutObjectCommand } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { canonicalJson } from '../../lib/core/archive/canonical-json';
import { readZipEntries } from '../../lib/core/archive/zip';
import { runLocal } from '../../lib/local/runner';
import { rawZip } from '../generators/raw-zip';
import { startCliHarness, type CliHarness, type CliResult } from './cli-harness';

const REGION = 'us-east-1';
const ALPHA = { target: 'lex:ALPHABOT01:DRAFT', key: `lex/123456789012/${REGION}/ALPHABOT01/DRAFT/bot.zip` };
const BRAVO = { target: 'lex:BRAVOBOT02:DRAFT', key: `lex/123456789012/${REGION}/BRAVOBOT02/DRAFT/bot.zip` };
const CHARLIE = { target: 'lex:CHARLIE003:DRAFT', key: `lex/123456789012/${REGION}/CHARLIE003/DRAFT/bot.zip` };
const DELTA = {
  bot: { target: 'lex:DELTABOT04:DRAFT', key: `lex/123456789012/${REGION}/DELTABOT04/DRAFT/bot.zip` },
  locale: { target: 'lex:DELTABOT04:DRAFT:en_US', key: `lex/123456789012/${REGION}/DELTABOT04/DRAFT/locales/en_US.zip` },
  vocabulary: {
    target: 'lex:DELTABOT04:DRAFT:en_US:custom-vocabulary',
    key: `lex/123456789012/${REGION}/DELTABOT04/DRAFT/locales/en_US/custom-vocabulary.zip`,
  },
};
const PASSWORD_SECRET = 'botvault/lex-password';
const SENTINEL_PASSWORD = 'SENTINEL-mirror-password-7d2e90';

let h: CliHarness;

interface Listed {
  key: string;
  versionId: string;
  lastModified: string;
  sha256: string;
  runId: string;
}

async function backUp(runId: string, only: string): Promise<void> {
  const run = await runLocal({ config: h.config, bucket: h.bucket, fast: true, runId, input: { trigger: 'manual', only: [only] } });
  expect(run.status).toBe('SUCCEEDED');
  expect(run.manifest!.results.length).toBeGreaterThan(0);
  for (const r of run.manifest!.results) expect(r.status, r.target).not.toBe('FAILED');
}

/**
 * The key's versions from `botvault list --json`, oldest first: the list's own order reversed (S3's, newest
 * first), since Swift's LastModified has whole seconds and versions planted in the same second tie on it.
 */
async function versionsOf(t: { target: string; key: string }): Promise<Listed[]> {
  const res = await h.cli(['list', t.target, '--json', '--config', h.configFile]);
  expect(res.code).toBe(0);
  return (JSON.parse(res.stdout) as (Listed & { current?: boolean })[])
    .filter((r) => r.key === t.key)
    .map(({ key, versionId, lastModified, sha256, runId }) => ({ key, versionId, lastModified, sha256, runId }))
    .reverse();
}

function mirror(dir: string, targets: string[], extra: string[] = [], env?: Record<string, string>): Promise<CliResult> {
  return h.cli(['mirror', '--git', dir, ...targets, ...extra, '--config', h.configFile], env ? { env } : undefined);
}

/** git in the mirror's directory; the test process's own GIT_* redirections (inside a hook, say) are dropped. */
function git(dir: string, args: string[]): string {
  const env = { ...process.env };
  for (const name of ['GIT_DIR', 'GIT_WORK_TREE', 'GIT_INDEX_FILE']) delete env[name];
  return execFileSync('git', args, { cwd: dir, env, encoding: 'utf8' });
}

interface LoggedCommit {
  hash: string;
  authorDate: string;
  committerDate: string;
  author: string;
  committer: string;
  subject: string;
  body: string;
  key: string;
  target: string;
  version: string;
  sha256: string;
  run: string;
}

/** Every commit, oldest first, with its trailers as git itself parses them. */
function commits(dir: string): LoggedCommit[] {
  const t = (key: string) => `%(trailers:key=BotVault-${key},valueonly)`;
  const format = ['%H', '%aI', '%cI', '%an <%ae>', '%cn <%ce>', '%s', '%B', t('Key'), t('Target'), t('Version'), t('Sha256'), t('Run')].join('%x1f');
  return git(dir, ['log', '--reverse', `--format=${format}%x1e`])
    .split('\x1e')
    .map((r) => r.replace(/^\n/, ''))
    .filter(Boolean)
    .map((r) => {
      const [hash, authorDate, committerDate, author, committer, subject, body, key, target, version, sha256, run] = r
        .split('\x1f')
        .map((f) => f.trim());
      return { hash, authorDate, committerDate, author, committer, subject, body, key, target, version, sha256, run } as LoggedCommit;
    });
}

/** Every file under `root`, relative to it. */
function filesUnder(root: string): string[] {
  const out: string[] = [];
  const walk = (d: string) => {
    for (const name of readdirSync(d)) {
      const p = join(d, name);
      if (statSync(p).isDirectory()) walk(p);
      else out.push(relative(root, p));
    }
  };
  walk(root);
  return out.sort();
}

async function stored(key: string, versionId: string): Promise<Buffer> {
  const res = await h.s3.send(new GetObjectCommand({ Bucket: h.bucket, Key: key, VersionId: versionId }));
  return Buffer.from(await res.Body!.transformToByteArray());
}

/** What the mirror must have written for an archive's entries: JSON pretty-printed with sorted keys, the rest as stored. */
function expectedFiles(entries: Map<string, Buffer>): Map<string, string> {
  return new Map(
    [...entries].map(([name, data]) => [
      name,
      name.endsWith('.json') ? `${canonicalJson(JSON.parse(data.toString('utf8')), 2)}\n` : data.toString('utf8'),
    ]),
  );
}

/** `folder` holds exactly the files the entries make (`except`: a nested folder that belongs to another resource). */
function expectFolderHolds(folder: string, entries: Map<string, Buffer>, except?: string): void {
  const expected = expectedFiles(entries);
  expect(filesUnder(folder).filter((f) => !except || !f.startsWith(`${except}/`))).toEqual([...expected.keys()].sort());
  for (const [name, text] of expected) expect(readFileSync(join(folder, name), 'utf8'), name).toBe(text);
}

const ALPHA_FOLDER = 'lex/123456789012/us-east-1/ALPHABOT01/DRAFT/bot';
const INTENTS = `${ALPHA_FOLDER}/Alpha/BotLocales/en_US/Intents`;
const SLOT_TYPE = `${ALPHA_FOLDER}/Alpha/BotLocales/en_US/SlotTypes/AlphaChoice/SlotType.json`;

beforeAll(async () => {
  h = await startCliHarness({
    s3: 'swift',
    stackName: 'BotVaultMirrorE2E',
    secrets: { [PASSWORD_SECRET]: JSON.stringify({ password: SENTINEL_PASSWORD }) },
    bots: [
      { botId: 'ALPHABOT01', botName: 'Alpha', locales: ['en_US'], intents: ['Greet', 'Order'] },
      { botId: 'BRAVOBOT02', botName: 'Bravo', locales: ['en_US'], intents: ['Help'], exportEncryption: 'aes256' },
      { botId: 'CHARLIE003', botName: 'Charlie', locales: ['en_US'], intents: ['Book'] },
      { botId: 'DELTABOT04', botName: 'Delta', locales: ['en_US'], intents: ['Ask'] },
    ],
    targets: [
      { provider: 'lex', botId: 'ALPHABOT01', botVersion: 'DRAFT' },
      { provider: 'lex', botId: 'BRAVOBOT02', botVersion: 'DRAFT', passwordSecret: PASSWORD_SECRET },
      { provider: 'lex', botId: 'CHARLIE003', botVersion: 'DRAFT' },
      { provider: 'lex', botId: 'DELTABOT04', botVersion: 'DRAFT' },
      { provider: 'lex', botId: 'DELTABOT04', botVersion: 'DRAFT', localeId: 'en_US' },
      { provider: 'lex', botId: 'DELTABOT04', botVersion: 'DRAFT', localeId: 'en_US', customVocabulary: true },
    ],
  });
  await backUp('mirror-1', ALPHA.target);
  h.lex.modifyBot('ALPHABOT01', { intents: ['Greet', 'Cancel'] });
  await backUp('mirror-2', ALPHA.target);
  h.lex.modifyBot('ALPHABOT01', { intents: ['Greet', 'Cancel', 'Refund'] });
  await backUp('mirror-3', ALPHA.target);
});
afterAll(async () => h?.close());

describe('botvault mirror', () => {
  const alphaDir = () => join(h.dir, 'alpha-mirror');
  let alphaVersions: Listed[] = [];

  it("a new directory gets a repository with one commit per version, oldest first: the backup's dates, the change summary, BotVault-* trailers, sorted-key JSON", async () => {
    alphaVersions = await versionsOf(ALPHA);
    expect(alphaVersions).toHaveLength(3);
    const dir = alphaDir();
    const res = await mirror(dir, [ALPHA.target]);
    expect(res.stderr).toBe('');
    expect(res.code).toBe(0);

    const log = commits(dir);
    expect(log.map((c) => c.version)).toEqual(alphaVersions.map((v) => v.versionId));
    log.forEach((c, i) => {
      const v = alphaVersions[i]!;
      // git keeps whole seconds: the commit is dated at the version's LastModified, to the second.
      const seconds = Math.floor(Date.parse(v.lastModified) / 1000) * 1000;
      expect(Date.parse(c.authorDate)).toBe(seconds);
      expect(Date.parse(c.committerDate)).toBe(seconds);
      expect(c.author).toBe('BotVault <botvault@localhost>');
      expect(c.committer).toBe('BotVault <botvault@localhost>');
      expect(c).toMatchObject({ key: ALPHA.key, target: ALPHA.target, sha256: v.sha256, run: `mirror-${i + 1}` });
    });
    expect(log.map((c) => c.subject)).toEqual([
      'Alpha: first backup',
      'Alpha (en_US): intent Cancel added, intent Order removed, slot type AlphaChoice +1 value, -1 value',
      'Alpha (en_US): intent Refund added, slot type AlphaChoice +1 value',
    ]);
    // The body: the summary, then one line per locale (formatChanges), then the trailers.
    expect(log[1]!.body).toBe(
      [
        log[1]!.subject,
        '',
        'en_US: intent Cancel added; intent Order removed; slot type AlphaChoice +1 value, -1 value',
        '',
        `BotVault-Target: ${ALPHA.target}`,
        `BotVault-Key: ${ALPHA.key}`,
        `BotVault-Version: ${alphaVersions[1]!.versionId}`,
        'BotVault-Run: mirror-2',
        `BotVault-Sha256: ${alphaVersions[1]!.sha256}`,
      ].join('\n'),
    );

    // One stdout line per commit, then the total.
    const lines = res.stdout.trimEnd().split('\n');
    expect(lines).toHaveLength(4);
    lines.slice(0, 3).forEach((line, i) => {
      const v = alphaVersions[i]!;
      expect(line).toBe(
        `${git(dir, ['rev-parse', '--short', log[i]!.hash]).trim()} ${ALPHA.key} ${v.versionId} ${new Date(Math.floor(Date.parse(v.lastModified) / 1000) * 1000).toISOString().slice(0, 19).replace('T', ' ')}Z ${log[i]!.subject}`,
      );
    });
    expect(lines[3]).toBe(`mirrored 3 versions of 1 bot into ${dir} (0 skipped, 0 not mirrored)`);

    // What each commit changed, as git sees it.
    expect(git(dir, ['show', '--name-status', '--no-renames', '--format=', log[1]!.hash]).trim().split('\n').sort()).toEqual([
      `A\t${INTENTS}/Cancel/Intent.json`,
      `D\t${INTENTS}/Order/Intent.json`,
      `M\t${SLOT_TYPE}`,
    ]);
    const stat = git(dir, ['show', '--stat=400', '--format=', 'HEAD']);
    expect(stat).toContain(`${INTENTS}/Refund/Intent.json`);
    expect(stat).toContain(SLOT_TYPE);
    expect(stat).toMatch(/\n 2 files changed, \d+ insertions\(\+\)\n$/);

    // The work tree is the newest version's entries, JSON pretty-printed with sorted keys, and nothing else.
    expect(git(dir, ['status', '--porcelain'])).toBe('');
    expect(readdirSync(dir).sort()).toEqual(['.git', 'lex']);
    const newest = await readZipEntries(await stored(ALPHA.key, alphaVersions[2]!.versionId));
    expectFolderHolds(join(dir, ALPHA_FOLDER), newest);
    const intent = readFileSync(join(dir, INTENTS, 'Refund', 'Intent.json'), 'utf8');
    expect(intent).toBe(`${canonicalJson(JSON.parse(intent), 2)}\n`);
    expect(intent.split('\n').length).toBeGreaterThan(10);
    // Each older commit holds its own version's files.
    const first = await readZipEntries(await stored(ALPHA.key, alphaVersions[0]!.versionId));
    const firstTree = git(dir, ['ls-tree', '-r', '--name-only', log[0]!.hash]).trim().split('\n');
    expect(firstTree.sort()).toEqual([...first.keys()].map((n) => `${ALPHA_FOLDER}/${n}`).sort());
    expect(git(dir, ['show', `${log[0]!.hash}:${INTENTS}/Order/Intent.json`])).toBe(
      `${canonicalJson(JSON.parse(first.get('Alpha/BotLocales/en_US/Intents/Order/Intent.json')!.toString('utf8')), 2)}\n`,
    );
  });

  it('a second mirror adds only the newer version; a third, with nothing new, adds nothing and exits 0', async () => {
    const dir = alphaDir();
    h.lex.modifyBot('ALPHABOT01', { intents: ['Greet', 'Cancel', 'Refund', 'Track'] });
    await backUp('mirror-4', ALPHA.target);
    const all = await versionsOf(ALPHA);
    expect(all.slice(0, 3)).toEqual(alphaVersions);
    const fourth = all[3]!;

    const res = await mirror(dir, [ALPHA.target], ['--json']);
    expect(res.stderr).toBe('');
    expect(res.code).toBe(0);
    const out = JSON.parse(res.stdout) as { dir: string; commits: Record<string, unknown>[]; notMirrored: unknown[]; alreadyMirrored: number };
    expect(out.dir).toBe(dir);
    expect(out.notMirrored).toEqual([]);
    expect(out.alreadyMirrored).toBe(3);
    const log = commits(dir);
    expect(log).toHaveLength(4);
    expect(out.commits).toEqual([
      {
        commit: log[3]!.hash,
        key: ALPHA.key,
        versionId: fourth.versionId,
        sha256: fourth.sha256,
        runId: 'mirror-4',
        time: new Date(Date.parse(fourth.lastModified)).toISOString(),
        summary: 'Alpha (en_US): intent Track added, slot type AlphaChoice +1 value',
      },
    ]);
    expect(log[3]!.subject).toBe('Alpha (en_US): intent Track added, slot type AlphaChoice +1 value');
    expect(git(dir, ['show', '--name-status', '--no-renames', '--format=', 'HEAD']).trim().split('\n').sort()).toEqual([
      `A\t${INTENTS}/Track/Intent.json`,
      `M\t${SLOT_TYPE}`,
    ]);

    const again = await mirror(dir, [ALPHA.target]);
    expect(again.stderr).toBe('');
    expect(again.code).toBe(0);
    expect(again.stdout).toBe(`mirrored 0 versions of 0 bots into ${dir} (4 skipped, 0 not mirrored)\n`);
    expect(commits(dir)).toHaveLength(4);
  });

  it('versions failing verification (sha256, MAC, not a zip, entries climbing out of the folder or into .git) are not committed: named on stderr, exit 2; the good ones around them are', async () => {
    await backUp('mirror-c1', CHARLIE.target);
    const [good1] = await versionsOf(CHARLIE);
    const head = await h.s3.send(new HeadObjectCommand({ Bucket: h.bucket, Key: CHARLIE.key, VersionId: good1!.versionId }));
    const goodBytes = await stored(CHARLIE.key, good1!.versionId);
    const plant = async (body: Buffer, metadata: Record<string, string>) =>
      (await h.s3.send(new PutObjectCommand({ Bucket: h.bucket, Key: CHARLIE.key, Body: body, Metadata: metadata }))).VersionId!;
    // Other bytes under the first version's metadata, its MAC included: the sha256 check refuses them.
    const swapped = await plant(Buffer.from('not the archive BotVault stored'), head.Metadata!);
    // The right bytes and their sha256, without a MAC: not authenticated.
    const unsigned = await plant(goodBytes, { sha256: head.Metadata!.sha256!, 'run-id': 'forged' });
    // Written with the stack's key, so sha256 and MAC pass: the zip checks refuse it.
    const notZip = (await h.putAsStack('archive', CHARLIE.key, 'PK but not a zip at all', { 'run-id': 'planted' }))!;
    const zipWith = async (name: string) =>
      (await h.putAsStack(
        'archive',
        CHARLIE.key,
        rawZip([
          { name: 'Manifest.json', data: Buffer.from('{"metaData":{"resourceType":"BOT"}}'), method: 0 },
          { name, data: Buffer.from('outside'), method: 0 },
        ]),
        { 'run-id': 'planted' },
      ))!;
    // An entry climbing out of the folder: the zip reader (zip.js) already refuses the archive.
    const escaping = await zipWith('../../../escaped.txt');
    // One the zip reader lets through, and the mirror refuses: it would write a .git folder inside the bot's.
    const dotGit = await zipWith('Charlie/.git/config');
    h.lex.modifyBot('CHARLIE003', { intents: ['Book', 'Pay'] });
    await backUp('mirror-c2', CHARLIE.target);
    const all = await versionsOf(CHARLIE);
    expect(all.map((v) => v.versionId).slice(1, 6)).toEqual([swapped, unsigned, notZip, escaping, dotGit]);
    const good2 = all[6]!;

    const dir = join(h.dir, 'charlie-mirror');
    const res = await mirror(dir, ['CHARLIE003']);
    expect(res.code).toBe(2);
    const errors = res.stderr.trimEnd().split('\n');
    expect(errors).toHaveLength(5);
    expect(errors[0]).toMatch(new RegExp(`^botvault: not mirrored: ${CHARLIE.key} version ${swapped}: sha256 mismatch for `));
    expect(errors[1]).toMatch(new RegExp(`^botvault: not mirrored: ${CHARLIE.key} version ${unsigned}: .* is not authenticated: `));
    expect(errors[2]).toMatch(new RegExp(`^botvault: not mirrored: ${CHARLIE.key} version ${notZip}: .* is not a sound zip: `));
    expect(errors[3]).toBe(
      `botvault: not mirrored: ${CHARLIE.key} version ${escaping}: version ${escaping} of ${CHARLIE.key} (version ${escaping}) is not a sound zip: Unsafe filename`,
    );
    expect(errors[4]).toBe(
      `botvault: not mirrored: ${CHARLIE.key} version ${dotGit}: entry "Charlie/.git/config" cannot be written: it would write into git's own .git folder`,
    );
    expect(existsSync(join(dir, '..', 'escaped.txt'))).toBe(false);
    expect(existsSync(join(h.dir, '..', 'escaped.txt'))).toBe(false);

    const log = commits(dir);
    expect(log.map((c) => c.version)).toEqual([good1!.versionId, good2.versionId]);
    expect(log[0]!.subject).toBe('Charlie: first backup');
    expect(res.stdout.trimEnd().split('\n').at(-1)).toBe(`mirrored 2 versions of 1 bot into ${dir} (0 skipped, 5 not mirrored)`);
    expectFolderHolds(join(dir, 'lex/123456789012/us-east-1/CHARLIE003/DRAFT/bot'), await readZipEntries(await stored(CHARLIE.key, good2.versionId)));

    // The refused versions are older than what the mirror now holds: the next mirror says so, and leaves them out.
    const again = await mirror(dir, ['CHARLIE003'], ['--json']);
    expect(again.code).toBe(0);
    const out = JSON.parse(again.stdout) as { commits: unknown[]; skipped: { versionId: string; reason: string }[] };
    expect(out.commits).toEqual([]);
    expect(out.skipped.map((s) => s.versionId)).toEqual([swapped, unsigned, notZip, escaping, dotGit]);
    expect(again.stderr).toContain(`botvault: skipped: ${CHARLIE.key} version ${notZip}: older than the mirror's newest version of ${CHARLIE.key}\n`);
    expect(commits(dir)).toHaveLength(2);
  });

  it('a password-protected export is committed decrypted, and its password appears nowhere in the repository', async () => {
    await backUp('mirror-b1', BRAVO.target);
    const [version] = await versionsOf(BRAVO);
    const bytes = await stored(BRAVO.key, version!.versionId);
    await expect(readZipEntries(bytes)).rejects.toThrow(/password/i);
    const dir = join(h.dir, 'bravo-mirror');
    const res = await mirror(dir, [BRAVO.target]);
    expect(res.stderr).toBe('');
    expect(res.code).toBe(0);
    const folder = join(dir, 'lex/123456789012/us-east-1/BRAVOBOT02/DRAFT/bot');
    expectFolderHolds(folder, await readZipEntries(bytes, { password: SENTINEL_PASSWORD }));
    expect((JSON.parse(readFileSync(join(folder, 'Bravo', 'Bot.json'), 'utf8')) as { name: string }).name).toBe('Bravo');
    expect(commits(dir).map((c) => c.subject)).toEqual(['Bravo: first backup']);
    expect(git(dir, ['log', '-p', '--all'])).not.toContain(SENTINEL_PASSWORD);
    expect(res.stdout).not.toContain(SENTINEL_PASSWORD);
  });

  it('a version that cannot be read for a passing reason (Secrets Manager unreachable) holds back the later ones; the next mirror commits them in order', async () => {
    h.lex.modifyBot('BRAVOBOT02', { intents: ['Help', 'Payslip'] });
    await backUp('mirror-b2', BRAVO.target);
    const versions = await versionsOf(BRAVO);
    expect(versions).toHaveLength(2);
    const dir = join(h.dir, 'bravo-held');
    // Port 9 (discard) on loopback: nothing listens, the connection is refused.
    const down = await mirror(dir, [BRAVO.target], [], { AWS_ENDPOINT_URL_SECRETS_MANAGER: 'http://127.0.0.1:9' });
    expect(down.code).toBe(2);
    expect(down.stderr).toContain(`botvault: not mirrored: ${BRAVO.key} version ${versions[0]!.versionId}: `);
    expect(down.stderr).toContain(`botvault: not mirrored: ${BRAVO.key} version ${versions[1]!.versionId}: waits for an earlier version of the key`);
    expect(down.stdout.trimEnd().split('\n').at(-1)).toBe(`mirrored 0 versions of 0 bots into ${dir} (0 skipped, 2 not mirrored)`);
    const up = await mirror(dir, [BRAVO.target]);
    expect(up.stderr).toBe('');
    expect(up.code).toBe(0);
    expect(commits(dir).map((c) => c.subject)).toEqual([
      'Bravo: first backup',
      'Bravo (en_US): intent Payslip added, slot type BravoChoice +1 value',
    ]);
  });

  it("a bot id mirrors all of the bot's resources; a locale's commit keeps the custom vocabulary folder nested in its own", async () => {
    h.lex.modifyBot('DELTABOT04', { intents: ['Ask'], vocabulary: { locale: 'en_US', phrases: ['Delta', 'zinnia'] } });
    await backUp('mirror-d1', 'DELTABOT04');
    // S3 dates have whole seconds on Swift: the second run must land in a later second, or its versions tie with
    // the first run's and the order across resources (which the last assertion below relies on) is the keys'.
    await new Promise((resolve) => setTimeout(resolve, 1_100));
    // The bot and its locale change; the vocabulary does not (no new version of it).
    h.lex.modifyBot('DELTABOT04', { intents: ['Ask', 'Answer'], vocabulary: { locale: 'en_US', phrases: ['Delta', 'zinnia'] } });
    await backUp('mirror-d2', 'DELTABOT04');
    const [bot, locale, vocabulary] = await Promise.all([versionsOf(DELTA.bot), versionsOf(DELTA.locale), versionsOf(DELTA.vocabulary)]);
    expect([bot.length, locale.length, vocabulary.length]).toEqual([2, 2, 1]);

    const dir = join(h.dir, 'delta-mirror');
    const res = await mirror(dir, ['DELTABOT04']);
    expect(res.stderr).toBe('');
    expect(res.code).toBe(0);
    expect(res.stdout.trimEnd().split('\n').at(-1)).toBe(`mirrored 5 versions of 3 bots into ${dir} (0 skipped, 0 not mirrored)`);
    const log = commits(dir);
    expect(log.map((c) => c.version).sort()).toEqual([...bot, ...locale, ...vocabulary].map((v) => v.versionId).sort());
    // Oldest first across the three resources, and each resource's own versions in order.
    const dates = log.map((c) => Date.parse(c.authorDate));
    expect(dates).toEqual([...dates].sort((a, b) => a - b));
    expect(log.filter((c) => c.key === DELTA.locale.key).map((c) => c.version)).toEqual(locale.map((v) => v.versionId));
    expect(log.at(-1)!.key).not.toBe(DELTA.vocabulary.key);

    const localeFolder = join(dir, 'lex/123456789012/us-east-1/DELTABOT04/DRAFT/locales/en_US');
    expectFolderHolds(localeFolder, await readZipEntries(await stored(DELTA.locale.key, locale[1]!.versionId)), 'custom-vocabulary');
    expectFolderHolds(join(localeFolder, 'custom-vocabulary'), await readZipEntries(await stored(DELTA.vocabulary.key, vocabulary[0]!.versionId)));
    expect(git(dir, ['status', '--porcelain'])).toBe('');
  });

  it('refuses a non-empty directory that is not a git repository, and changes nothing in it', async () => {
    const dir = join(h.dir, 'not-a-repo');
    mkdirSync(dir);
    writeFileSync(join(dir, 'notes.txt'), 'mine');
    const res = await mirror(dir, [ALPHA.target]);
    expect(res.code).toBe(2);
    expect(res.stderr).toBe(
      `botvault: ${dir} is not empty and not a git repository: mirror writes only into a new or empty directory, or into a repository (such as one an earlier mirror made)\n`,
    );
    expect(readdirSync(dir)).toEqual(['notes.txt']);
  });

  it('refuses a repository with uncommitted changes, naming them, and commits nothing', async () => {
    const dir = alphaDir();
    const before = commits(dir).length;
    writeFileSync(join(dir, 'notes.txt'), 'mine');
    writeFileSync(join(dir, INTENTS, 'Greet', 'Intent.json'), '{}\n');
    const res = await mirror(dir, []);
    expect(res.code).toBe(2);
    expect(res.stderr).toBe(
      `botvault: ${dir} has uncommitted changes (git status --porcelain: M ${INTENTS}/Greet/Intent.json, ?? notes.txt): commit or discard them first; each mirror commit replaces whole folders\n`,
    );
    expect(commits(dir)).toHaveLength(before);
  });

  it('without git on PATH: one line saying so, exit 2', async () => {
    const res = await h.cli(['mirror', '--git', join(h.dir, 'no-git'), '--config', h.configFile], { env: { PATH: '/nonexistent' } });
    expect(res.code).toBe(2);
    expect(res.stderr).toBe('botvault: mirror needs git on PATH (install it, e.g. `apt-get install git`, and run again)\n');
    expect(existsSync(join(h.dir, 'no-git'))).toBe(false);
  });
});

describe('botvault mirror, bucket without versioning (s3rver)', () => {
  let plain: CliHarness;
  beforeAll(async () => {
    // Its own harness (s3rver has no versioning API): it points the handlers' environment at its servers from here on.
    plain = await startCliHarness({
      s3: 's3rver',
      stackName: 'BotVaultMirrorPlainE2E',
      bots: [{ botId: 'ALPHABOT01', botName: 'Alpha', locales: ['en_US'], intents: ['Greet', 'Order'] }],
      targets: [{ provider: 'lex', botId: 'ALPHABOT01', botVersion: 'DRAFT' }],
    });
  });
  afterAll(async () => plain?.close());

  it('the current object is committed as version "null", again only once its bytes changed', async () => {
    const backUpPlain = async (runId: string) => {
      const run = await runLocal({ config: plain.config, bucket: plain.bucket, fast: true, runId });
      expect(run.status).toBe('SUCCEEDED');
    };
    const dir = join(plain.dir, 'plain-mirror');
    const run = (extra: string[] = []) => plain.cli(['mirror', '--git', dir, ...extra, '--config', plain.configFile]);
    await backUpPlain('plain-1');
    const first = await run();
    expect(first.stderr).toBe('');
    expect(first.code).toBe(0);
    expect(first.stdout).toMatch(new RegExp(`^[0-9a-f]{7,} ${ALPHA.key} null \\S+ \\S+ Alpha: first backup\\n`));
    expect(commits(dir).map((c) => c.version)).toEqual(['null']);

    const unchanged = await run();
    expect(unchanged.code).toBe(0);
    expect(unchanged.stdout).toBe(`mirrored 0 versions of 0 bots into ${dir} (1 skipped, 0 not mirrored)\n`);

    plain.lex.modifyBot('ALPHABOT01', { intents: ['Greet', 'Cancel'] });
    await backUpPlain('plain-2');
    const changed = await run(['--json']);
    expect(changed.code).toBe(0);
    const out = JSON.parse(changed.stdout) as { commits: { versionId: string; runId: string; summary: string }[] };
    expect(out.commits).toMatchObject([{ versionId: 'null', runId: 'plain-2' }]);
    expect(out.commits[0]!.summary).toMatch(/^Alpha \(en_US\): intent Cancel added, intent Order removed/);
    const log = commits(dir);
    expect(log.map((c) => c.run)).toEqual(['plain-1', 'plain-2']);
    expect(git(dir, ['show', '--name-status', '--no-renames', '--format=', 'HEAD'])).toContain(`A\t${INTENTS}/Cancel/Intent.json`);
  });
});
