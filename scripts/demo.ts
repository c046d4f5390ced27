/**
 * `npm run demo`: a full local backup run with no AWS account.
 *
 * Starts the Lex V2 and Kore.ai simulators, a Secrets Manager simulator
 * holding the Kore.ai app's credentials and a Lex export password, and an
 * S3-compatible server on 127.0.0.1, runs
 * the state machine that `cdk synth` emits (real handlers, real SDK clients)
 * twice — a Lex bot and a Kore.ai bot are edited in between — and prints
 * what is in the bucket, then the edited Lex bot's history (`botvault
 * history`), what changed between its two versions (`botvault diff` on
 * versioned S3; on s3rver, which keeps no old version, the same summary of
 * the first run's archive kept aside and the current one), and, with git installed, the two edited bots mirrored
 * into a Git repository (`botvault mirror --git`) and its `git log --stat`.
 *
 * S3 server: OpenStack Swift when BOTVAULT_SWIFT_S3_ENDPOINT is set (real
 * versioning: every key shows its two versions), otherwise s3rver in-process
 * (no versioning: the second run overwrites).
 */
import { spawnSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  CreateBucketCommand,
  GetObjectCommand,
  HeadObjectCommand,
  ListObjectVersionsCommand,
  ListObjectsV2Command,
  PutBucketVersioningCommand,
  type S3Client,
} from '@aws-sdk/client-s3';
import { parseConfig } from '../lib/config/config';
import { readZipEntries } from '../lib/core/archive/zip';
import { changeSummary } from '../lib/providers/change-summaries';
import { formatChanges } from '../lib/providers/changes';
import { diffCommand } from '../lib/cli/diff';
import { historyCommand } from '../lib/cli/history';
import { mirrorCommand } from '../lib/cli/mirror';
import { formatBytes, formatJobLines } from '../lib/cli/output';
import { runLocal } from '../lib/local/runner';
import { startKoreSimulator } from '../test/simulators/koreai-simulator';
import { startLexSimulator } from '../test/simulators/lex-simulator';
import { s3ClientFor, startS3Server } from '../test/simulators/s3-server';
import { startKmsForHandlers } from '../test/simulators/kms-simulator';
import { startSecretsSimulator } from '../test/simulators/secrets-simulator';
import { swiftS3FromEnv } from '../test/simulators/swift';
import { EDITED_LEX_KEY, editEstate, estateSecrets, estateTargets, KORE_BOTS, LEX_BOTS } from './local-estate';

/** The current object's bytes, checked against the sha256 StoreArchive stored with them. */
async function archiveBytes(s3: S3Client, bucket: string, key: string): Promise<Buffer> {
  const res = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
  const data = Buffer.from(await res.Body!.transformToByteArray());
  if (createHash('sha256').update(data).digest('hex') !== res.Metadata?.sha256) throw new Error(`${key}: bytes do not match their sha256`);
  return data;
}

/** Left-aligned columns, two spaces apart. */
function columns(rows: string[][]): string[] {
  const widths = rows.reduce<number[]>((w, row) => row.map((cell, i) => Math.max(w[i] ?? 0, cell.length)), []);
  return rows.map((row) => row.map((cell, i) => (i === row.length - 1 ? cell : cell.padEnd(widths[i]!))).join('  '));
}

async function listBucket(s3: S3Client, bucket: string): Promise<string[]> {
  const lines: string[][] = [];
  try {
    const res = await s3.send(new ListObjectVersionsCommand({ Bucket: bucket }));
    for (const v of res.Versions ?? []) {
      const head = await s3.send(new HeadObjectCommand({ Bucket: bucket, Key: v.Key, VersionId: v.VersionId }));
      lines.push([
        v.Key!,
        `version ${v.VersionId}${v.IsLatest ? ' (current)' : ''}`,
        formatBytes(v.Size).padStart(9),
        `sha256 ${head.Metadata?.sha256 ?? '-'}`,
      ]);
    }
    return columns(lines);
  } catch {
    // s3rver has no versioning API: list the current objects only.
  }
  const res = await s3.send(new ListObjectsV2Command({ Bucket: bucket }));
  for (const o of res.Contents ?? []) {
    const head = await s3.send(new HeadObjectCommand({ Bucket: bucket, Key: o.Key }));
    lines.push([o.Key!, formatBytes(o.Size).padStart(9), `sha256 ${head.Metadata?.sha256 ?? '-'}`]);
  }
  return columns(lines);
}

async function main(): Promise<number> {
  const { koreApp, secrets: secretValues } = estateSecrets();
  const lex = await startLexSimulator({ bots: LEX_BOTS, defaultFaults: { exportLatencyMs: 300 } });
  const kore = await startKoreSimulator({ apps: [koreApp], bots: KORE_BOTS });
  for (const bot of KORE_BOTS) kore.setFaults(bot.botId, { exportLatencyMs: 300 });
  // The Kore.ai app's credentials live in (simulated) Secrets Manager, as in production.
  const secrets = await startSecretsSimulator({ secrets: secretValues });
  // The stack's HMAC key, in (simulated) KMS: every archive, sidecar and manifest the runs write carries its MAC.
  const mac = await startKmsForHandlers();
  const swift = process.env.BOTVAULT_SWIFT_S3_ENDPOINT ? swiftS3FromEnv() : undefined;
  const local = swift ? undefined : await startS3Server();
  const endpoint = swift?.endpoint ?? local!.endpoint;
  const s3 = swift?.client ?? s3ClientFor(endpoint);
  try {
    process.env.AWS_ENDPOINT_URL_LEX_MODELS_V2 = lex.url;
    process.env.AWS_ENDPOINT_URL_SECRETS_MANAGER = secrets.url;
    process.env.AWS_ENDPOINT_URL_S3 = endpoint;
    process.env.AWS_REGION = 'us-east-1';
    if (!swift) {
      process.env.AWS_ACCESS_KEY_ID = 'S3RVER';
      process.env.AWS_SECRET_ACCESS_KEY = 'S3RVER';
    } else {
      process.env.AWS_ACCESS_KEY_ID = process.env.BOTVAULT_SWIFT_S3_ACCESS_KEY;
      process.env.AWS_SECRET_ACCESS_KEY = process.env.BOTVAULT_SWIFT_S3_SECRET_KEY;
    }

    const bucket = `botvault-demo-${randomBytes(4).toString('hex')}`;
    await s3.send(new CreateBucketCommand({ Bucket: bucket }));
    await s3.send(new PutBucketVersioningCommand({ Bucket: bucket, VersioningConfiguration: { Status: 'Enabled' } })).catch(() => undefined);

    const config = parseConfig({
      stackName: 'BotVaultDemo',
      maxConcurrency: 4,
      polling: { firstWaitSeconds: 5, backoffFactor: 2, maxWaitSeconds: 30, budgetSeconds: 600 },
      downloadAllowlist: [lex.url, kore.url],
      targets: estateTargets(kore.url),
    });

    console.log(
      `BotVault demo: Lex V2 simulator at ${lex.url}, Kore.ai simulator at ${kore.url}, S3 (${swift ? 'OpenStack Swift, versioned' : 's3rver, unversioned'}) at ${endpoint}, bucket ${bucket}\n`,
    );
    let exitCode = 0;
    let firstArchive: Buffer | undefined;
    for (const [i, label] of ['first run', 'second run (OrderFlowers and HotelConcierge edited in between)'].entries()) {
      if (i === 1) {
        // s3rver keeps no old version for `botvault diff`: keep the first run's archive of the bot to compare with.
        if (!swift) firstArchive = await archiveBytes(s3, bucket, EDITED_LEX_KEY);
        editEstate(lex, kore);
      }
      const started = Date.now();
      const run = await runLocal({ config, bucket, fast: true });
      console.log(`== ${label}: ${run.status} in ${((Date.now() - started) / 1000).toFixed(1)} s (run id ${run.runId})`);
      for (const line of formatJobLines(run.manifest?.results ?? [])) console.log(`   ${line}`);
      // What changed in each new version (its change record; the run's notification says the same).
      const width = Math.max(0, ...(run.manifest?.results ?? []).map((r) => r.target.length));
      for (const r of run.manifest?.results ?? []) if (r.changes) console.log(`   changed   ${r.target.padEnd(width)}  ${r.changes}`);
      console.log(`   manifest: s3://${bucket}/${run.manifestKey}\n`);
      if (run.status !== 'SUCCEEDED') exitCode = 1;
    }
    console.log(`== bucket s3://${bucket}`);
    for (const line of await listBucket(s3, bucket)) console.log(`   ${line}`);

    // Reading the history (README "Reading the history"): the real commands, against this bucket and key.
    const cli = { bucket, macKey: mac.macKeyArn, json: false };
    console.log(`\n== npx botvault history lex:ORDRFLWRS1:DRAFT`);
    if ((await historyCommand('lex:ORDRFLWRS1:DRAFT', cli)) !== 0) exitCode = 1;
    if (swift) {
      console.log(`\n== npx botvault diff lex:ORDRFLWRS1:DRAFT`);
      if ((await diffCommand('lex:ORDRFLWRS1:DRAFT', { ...cli, context: 3 })) !== 0) exitCode = 1;
    } else if (firstArchive) {
      // The comparison `botvault diff` makes first (lib/providers/change-summaries.ts), of the archive kept from the
      // first run and the current one: `botvault diff` itself needs two stored versions, which s3rver does not keep.
      console.log(`\n== what changed in lex:ORDRFLWRS1:DRAFT between the runs (botvault diff's summary; npm run demo:versioned runs botvault diff)`);
      const [before, after] = await Promise.all([readZipEntries(firstArchive), readZipEntries(await archiveBytes(s3, bucket, EDITED_LEX_KEY))]);
      for (const line of formatChanges(changeSummary('lex', before, after) ?? [])) console.log(`  ${line}`);
    }

    // The same history as a Git repository (`botvault mirror --git`), when git is installed.
    if (spawnSync('git', ['--version']).status === 0) {
      const repo = mkdtempSync(join(tmpdir(), 'botvault-demo-mirror-'));
      console.log(`\n== npx botvault mirror --git ${repo} lex:ORDRFLWRS1:DRAFT ${KORE_BOTS[0]!.botId}`);
      if ((await mirrorCommand(['lex:ORDRFLWRS1:DRAFT', KORE_BOTS[0]!.botId], { ...cli, git: repo })) !== 0) exitCode = 1;
      console.log(`\n== git -C ${repo} log --stat --format='%ad %s%n%n%b' --date=iso-strict`);
      const log = spawnSync('git', ['-C', repo, 'log', '--stat', '--format=%ad %s%n%n%b', '--date=iso-strict'], { encoding: 'utf8' });
      process.stdout.write(log.stdout);
      rmSync(repo, { recursive: true, force: true });
    }
    return exitCode;
  } finally {
    await lex.close();
    await kore.close();
    await secrets.close();
    await mac.close();
    await local?.close();
  }
}

main().then(
  (code) => process.exit(code),
  (err: unknown) => {
    console.error(err);
    process.exit(2);
  },
);
