/**
 * A bad config stops synth with one message naming the field: through
 * loadConfig (what bin/app.ts calls) and through the real CDK entry,
 * `tsx bin/app.ts`, as `cdk synth` runs it.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';
import { PROJECT_ROOT } from '../../lib/constructs/backup-function';
import { ConfigError, loadConfig } from '../../lib/config/config';
import { SKIP_BUNDLING } from './helpers';

const run = promisify(execFile);
const dir = mkdtempSync(join(tmpdir(), 'botvault-config-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const LEX = { provider: 'lex', botId: 'ABCDEFGHIJ', botVersion: 'DRAFT' };
const KORE = { provider: 'koreai', botId: 'st-11111111-2222-4333-8444-555555555555', credentialsSecret: 'botvault/koreai' };
let n = 0;
function file(content: unknown): string {
  const path = join(dir, `config-${++n}.json`);
  writeFileSync(path, typeof content === 'string' ? content : JSON.stringify(content));
  return path;
}

/** Runs the CDK entry like `cdk synth -c config=PATH` does (context through CDK_CONTEXT_JSON), without bundling. */
async function cdkApp(configPath: string, outdir: string) {
  try {
    const { stdout, stderr } = await run(join(PROJECT_ROOT, 'node_modules/.bin/tsx'), ['bin/app.ts'], {
      cwd: PROJECT_ROOT,
      env: { ...process.env, CDK_OUTDIR: outdir, CDK_CONTEXT_JSON: JSON.stringify({ config: configPath, ...SKIP_BUNDLING }) },
    });
    return { code: 0, stdout, stderr };
  } catch (err) {
    const e = err as { code: number; stdout: string; stderr: string };
    return { code: e.code, stdout: e.stdout, stderr: e.stderr };
  }
}

describe('loadConfig names the bad field', () => {
  it.each([
    [
      'unknown provider',
      { targets: [{ provider: 'dialogflow', botId: 'x' }] },
      'targets[0].provider: must be one of "lex", "koreai" (got "dialogflow")',
    ],
    ['missing botId', { targets: [{ provider: 'lex', botVersion: 'DRAFT' }] }, 'targets[0].botId: is required'],
    ['bad cron', { targets: [LEX], schedule: { cron: 'cron(0 3 * * *)' } }, 'schedule.cron: must be an EventBridge Scheduler cron expression'],
    [
      'cron minutes out of range',
      { targets: [LEX], schedule: { cron: 'cron(99 3 * * ? *)' } },
      'schedule.cron: must be an EventBridge Scheduler cron expression, and its minutes field "99" is not valid (0-59)',
    ],
    [
      'drill cron hours out of range',
      { targets: [LEX], restoreDrill: { cron: 'cron(0 25 ? * SUN *)' } },
      'restoreDrill.cron: must be an EventBridge Scheduler cron expression, and its hours field "25" is not valid (0-23)',
    ],
    ['bad timezone', { targets: [LEX], schedule: { timezone: 'Europe/Atlantis' } }, 'schedule.timezone: must be an IANA time zone'],
    ['concurrency 0', { targets: [LEX], maxConcurrency: 0 }, 'maxConcurrency: must be at least 1'],
    ['concurrency 41', { targets: [LEX], maxConcurrency: 41 }, 'maxConcurrency: must be at most 40'],
    // A value of the wrong type is not a missing one: the message says what the field takes.
    ['concurrency as a string', { targets: [LEX], maxConcurrency: '5' }, 'maxConcurrency: must be a whole number from 1 to 40'],
    ['fractional concurrency', { targets: [LEX], maxConcurrency: 2.5 }, 'maxConcurrency: must be a whole number from 1 to 40'],
    [
      'botId as a number',
      { targets: [{ provider: 'lex', botId: 12, botVersion: 'DRAFT' }] },
      'targets[0].botId: Invalid input: expected string, received number',
    ],
    ['targets not a list', { targets: 'all' }, 'targets: Invalid input: expected array, received string'],
    ['no targets field', {}, 'targets: is required'],
    ['unknown field', { targets: [LEX], retension: {} }, 'retension: unknown field "retension"'],
    ['unknown target field', { targets: [{ ...LEX, botversion: '1' }] }, 'targets[0].botversion: unknown field "botversion"'],
    ['no targets', { targets: [] }, 'targets: must list at least one target'],
    [
      'expiration neither days nor "never"',
      { targets: [LEX], retention: { noncurrentExpirationDays: 'forever' } },
      'retention.noncurrentExpirationDays: must be a whole number of days from 1 to 36500, or "never" to keep every version forever',
    ],
    [
      'expiration 0 days',
      { targets: [LEX], retention: { noncurrentExpirationDays: 0 } },
      'retention.noncurrentExpirationDays: must be a whole number of days from 1 to 36500, or "never" to keep every version forever',
    ],
    [
      'transition 0 days',
      { targets: [LEX], retention: { noncurrentTransitionDays: 0 } },
      'retention.noncurrentTransitionDays: must be at least 1 day',
    ],
    ['maxArchiveMiB 0', { targets: [LEX], maxArchiveMiB: 0 }, 'maxArchiveMiB: must be at least 1'],
    [
      'maxArchiveMiB above Lambda storage',
      { targets: [LEX], maxArchiveMiB: 20_000 },
      "maxArchiveMiB: must be at most 10176 (Lambda's 10,240 MB of ephemeral storage",
    ],
    ['maxArchiveMiB fractional', { targets: [LEX], maxArchiveMiB: 1.5 }, 'maxArchiveMiB: must be a whole number of MiB from 1 to 10176'],
    [
      'Kore.ai host an IP literal',
      { targets: [{ ...KORE, host: 'https://10.0.0.5' }] },
      "targets[0].host: must be the Kore.ai host's public name, not an IP address (10.0.0.5)",
    ],
    [
      'Kore.ai host a local-only name',
      { targets: [{ ...KORE, host: 'https://kore.internal' }] },
      "targets[0].host: must be the Kore.ai host's public name, not a local-only name (kore.internal)",
    ],
    [
      'Kore.ai downloadHosts wildcard over a whole top-level domain',
      { targets: [{ ...KORE, host: 'https://bots.kore.ai', downloadHosts: ['*.com'] }] },
      'targets[0].downloadHosts: "*.com" matches every host under .com: a wildcard needs at least two labels below a public suffix',
    ],
    [
      'Kore.ai downloadHosts wildcard over a two-label public suffix (Public Suffix List, ICANN section)',
      { targets: [{ ...KORE, host: 'https://bots.kore.ai', downloadHosts: ['*.co.uk'] }] },
      'targets[0].downloadHosts: "*.co.uk" matches every host under .co.uk, a public suffix (anyone can register a name there): a wildcard needs at least two labels below a public suffix',
    ],
    [
      'Kore.ai downloadHosts wildcard over every S3 bucket (Public Suffix List, private section)',
      { targets: [{ ...KORE, host: 'https://bots.kore.ai', downloadHosts: ['*.s3.amazonaws.com'] }] },
      'targets[0].downloadHosts: "*.s3.amazonaws.com" matches every host under .s3.amazonaws.com, a public suffix',
    ],
    [
      'Kore.ai downloadHosts an IP address',
      { targets: [{ ...KORE, host: 'https://bots.kore.ai', downloadHosts: ['169.254.169.254'] }] },
      'targets[0].downloadHosts: "169.254.169.254" is not a public host name',
    ],
    [
      'archiveLimits below maxArchiveMiB',
      { targets: [LEX], maxArchiveMiB: 4096, archiveLimits: { maxUncompressedMiB: 2048 } },
      'archiveLimits.maxUncompressedMiB: must be at least maxArchiveMiB (4096): an archive unpacks to at least its own size',
    ],
    ['archiveLimits ratio 1', { targets: [LEX], archiveLimits: { maxCompressionRatio: 1 } }, 'archiveLimits.maxCompressionRatio: must be at least 2'],
    ['archiveLimits unknown field', { targets: [LEX], archiveLimits: { maxFiles: 10 } }, 'archiveLimits.maxFiles: unknown field "maxFiles"'],
    [
      'bad changeDetection',
      { targets: [LEX], changeDetection: 'never' },
      'changeDetection: must be "skipUnchanged" (no new version when the bot did not change) or "always"',
    ],
  ])('%s', (_name, raw, message) => {
    const path = file(raw);
    let error: unknown;
    try {
      loadConfig(path);
    } catch (err) {
      error = err;
    }
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as Error).message).toContain(`Invalid BotVault config in ${path}:`);
    expect((error as Error).message).toContain(message);
  });

  it('a downloadHosts wildcard with two labels below a public suffix is accepted, whatever the suffix', () => {
    const hosts = ['*.example.com', '*.example.co.uk', '*.files.example.com', '*.my-bucket.s3.amazonaws.com', 'files.example.co.uk'];
    const config = loadConfig(file({ targets: [{ ...KORE, host: 'https://bots.kore.ai', downloadHosts: hosts }] }));
    expect(config.targets[0]).toMatchObject({ downloadHosts: hosts });
  });

  it('a bad mapMode names the limits README "Scaling" gives, and the README still gives them', () => {
    let message = '';
    try {
      loadConfig(file({ targets: [LEX], mapMode: 'parallel' }));
    } catch (err) {
      message = (err as Error).message;
    }
    expect(message).toContain('mapMode: must be "inline"');
    const readme = readFileSync(join(PROJECT_ROOT, 'README.md'), 'utf8');
    const scaling = readme.slice(readme.indexOf('### Scaling'), readme.indexOf('## How the code is organised'));
    expect(message).toContain('about 390 jobs that need five polls');
    expect(scaling).toContain('~390 at five');
    expect(message).toContain('about 440-600 bots fit');
    expect(scaling).toMatch(/one run holds about 600 bots in either mode, about 440 if all of them may\s+change/);
  });

  it('not JSON, and a missing file, are ConfigErrors too', () => {
    expect(() => loadConfig(file('{ "targets": ['))).toThrow(/is not valid JSON/);
    expect(() => loadConfig(join(dir, 'nope.json'))).toThrow(/Cannot read BotVault config .*nope\.json: ENOENT/);
  });

  it('the example botvault.config.json is valid: a whole DRAFT bot, a numbered version, one locale', () => {
    const config = loadConfig(join(PROJECT_ROOT, 'botvault.config.json'));
    expect(config.targets).toEqual([
      { provider: 'lex', botId: 'ABCDEFGHIJ', botVersion: 'DRAFT' },
      { provider: 'lex', botId: 'ABCDEFGHIJ', botVersion: '3' },
      { provider: 'lex', botId: 'KLMNOPQRST', botVersion: '2', localeId: 'en_US' },
    ]);
  });
});

describe('bin/app.ts (the cdk.json app command)', () => {
  it('a bad config: exit code 1, the message on stderr, no stack trace, nothing synthesized', async () => {
    const outdir = mkdtempSync(join(dir, 'out-'));
    const path = file({ targets: [{ provider: 'lex', botVersion: 'DRAFT' }], maxConcurrency: 41 });
    const res = await cdkApp(path, outdir);
    expect(res.code).toBe(1);
    expect(res.stderr).toBe(
      `Invalid BotVault config in ${path}:\n  maxConcurrency: must be at most 40 (the inline Map limit)\n  targets[0].botId: is required: give the bot id (or use "testSetId", or "discover": true)\n`,
    );
    expect(res.stderr).not.toMatch(/\n\s+at /);
    expect(existsSync(join(outdir, 'manifest.json'))).toBe(false);
  });

  it('a missing config file: exit code 1 with a hint', async () => {
    const res = await cdkApp(join(dir, 'missing.json'), mkdtempSync(join(dir, 'out-')));
    expect(res.code).toBe(1);
    expect(res.stderr).toMatch(/^Cannot read BotVault config .*missing\.json: ENOENT\. Create it/);
  });

  it('a good config: synthesizes the stack named by stackName into CDK_OUTDIR', async () => {
    const outdir = mkdtempSync(join(dir, 'out-'));
    const res = await cdkApp(file({ stackName: 'BotVaultTest', targets: [LEX] }), outdir);
    expect(res.code, res.stderr).toBe(0);
    const template = JSON.parse(readFileSync(join(outdir, 'BotVaultTest.template.json'), 'utf8')) as { Resources: Record<string, { Type: string }> };
    expect(Object.values(template.Resources).filter((r) => r.Type === 'AWS::StepFunctions::StateMachine')).toHaveLength(1);
    // The whole app in a child tsx process (bundling skipped): 19 s in a full parallel run here; under heavier load it neared the 60 s default.
  }, 180_000);
});
