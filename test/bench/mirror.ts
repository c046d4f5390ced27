/**
 * `botvault mirror` benchmark: one bot's 200 archive versions replayed into a
 * new Git repository by the real command line (a child process, the real git
 * binary), then the same mirror again with nothing new.
 *
 * The versions are written straight into a versioned bucket on OpenStack
 * Swift (scripts/swift-s3.sh; s3rver has no versioning), as StoreArchive
 * writes them: real-format Lex exports (test/generators/lex-export.ts), one
 * utterance more each time, with `sha256`, `run-id` and a MAC made with the
 * stack's key (lib/core/mac.ts, as test/e2e/cli-harness.ts putAsStack does),
 * each with its change record (lib/providers/change-record.ts, MAC kind
 * `changes`). KMS is the simulator, in this process.
 *
 * Memory: the CLI holds one version at a time, so its RSS should not grow
 * with the number of versions. The child's RSS is read from
 * /proc/<pid>/status when its 50th and its last commit line arrive, and its
 * peak is `process.resourceUsage().maxRSS`, written at exit by a module
 * given to `node --import` (a data: URL, so no file of its own).
 */
import { execFileSync, spawn } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { KMSClient } from '@aws-sdk/client-kms';
import { PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { kmsMacKey, type MacKey, type MacSubject, macMetadata } from '../../lib/core/mac';
import { changeRecordKey, MAC_METADATA, RUN_ID_METADATA, SHA256_METADATA } from '../../lib/core/names';
import { CHANGE_RECORD_FORMAT, type ChangeRecord, changeRecordSchema } from '../../lib/providers/change-record';
import { lexExportZip, sampleLexBot } from '../generators/lex-export';
import { startKmsSimulator } from '../simulators/kms-simulator';
import { createVersionedBucket, swiftS3FromEnv } from '../simulators/swift';

export interface MirrorBenchResult {
  readonly versions: number;
  /** Bytes of one archive version (the first; each later one is a few bytes more). */
  readonly archiveBytes: number;
  /** Writing the versions and their change records into the bucket (not part of the mirror). */
  readonly setupSeconds: number;
  readonly exitCode: number;
  readonly commits: number;
  /** The first mirror: start of the child process to its exit. */
  readonly elapsedSeconds: number;
  readonly versionsPerSecond: number;
  /** The CLI process's RSS when its 50th commit was reported, and when its last one was. */
  readonly rssAt50MiB: number;
  readonly rssAtEndMiB: number;
  /** process.resourceUsage().maxRSS of the CLI process. */
  readonly peakRssMiB: number;
  /** The second mirror, with nothing new: what an incremental run with no new versions costs. */
  readonly noopSeconds: number;
  readonly noopExitCode: number;
}

const BIN = resolve(import.meta.dirname, '../../bin/botvault.mjs');
const KEY = 'lex/123456789012/us-east-1/BENCHMIRR1/DRAFT/bot.zip';
const TARGET = 'lex:BENCHMIRR1:DRAFT';

/** Written at exit into BENCH_RSS_FILE: the peak RSS (Linux reports maxRSS in KiB). */
const RSS_REPORTER = `data:text/javascript,${encodeURIComponent(
  "import { writeFileSync } from 'node:fs'; process.on('exit', () => writeFileSync(process.env.BENCH_RSS_FILE, JSON.stringify({ maxRssKiB: process.resourceUsage().maxRSS })));",
)}`;

async function putAsStack(
  s3: S3Client,
  bucket: string,
  mac: MacKey,
  kind: MacSubject['kind'],
  key: string,
  body: Buffer,
  metadata: Record<string, string>,
): Promise<string> {
  const sha256 = createHash('sha256').update(body).digest('hex');
  const withSha = { ...metadata, [SHA256_METADATA]: sha256 };
  const value = await macMetadata(mac, { kind, key, bytes: body.length, sha256, metadata: withSha });
  const put = await s3.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: body, Metadata: { ...withSha, [MAC_METADATA]: value } }));
  if (!put.VersionId) throw new Error(`the bucket gave ${key} no version id: is versioning on?`);
  return put.VersionId;
}

/** The VmRSS of a live process, MiB (Linux /proc). */
function rssOf(pid: number): number {
  const kib = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1];
  return kib ? Number(kib) / 1024 : Number.NaN;
}

interface ChildRun {
  code: number;
  seconds: number;
  lines: string[];
  rssAt: Map<number, number>;
  stderr: string;
  maxRssKiB?: number;
}

/** The CLI in a child process; RSS sampled when the `sampleAt`-th stdout line arrives (the line is printed after its commit). */
function runCli(args: string[], env: NodeJS.ProcessEnv, cwd: string, sampleAt: readonly number[]): Promise<ChildRun> {
  const rssFile = join(cwd, `rss-${randomBytes(4).toString('hex')}.json`);
  const started = process.hrtime.bigint();
  const child = spawn(process.execPath, ['--import', RSS_REPORTER, BIN, ...args], {
    cwd,
    env: { ...env, BENCH_RSS_FILE: rssFile },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const lines: string[] = [];
  const rssAt = new Map<number, number>();
  let stderr = '';
  child.stderr.on('data', (b: Buffer) => (stderr += b.toString('utf8')));
  createInterface({ input: child.stdout }).on('line', (line) => {
    lines.push(line);
    if (sampleAt.includes(lines.length) && child.pid) rssAt.set(lines.length, rssOf(child.pid));
  });
  return new Promise((done, fail) => {
    child.on('error', fail);
    child.on('close', (code) => {
      const seconds = Number(process.hrtime.bigint() - started) / 1e9;
      let maxRssKiB: number | undefined;
      try {
        maxRssKiB = (JSON.parse(readFileSync(rssFile, 'utf8')) as { maxRssKiB: number }).maxRssKiB;
      } catch {
        // the child died before its exit handler ran: no peak to report
      }
      done({ code: code ?? -1, seconds, lines, rssAt, stderr, ...(maxRssKiB !== undefined ? { maxRssKiB } : {}) });
    });
  });
}

/** The versioned S3 server: the one BOTVAULT_SWIFT_S3_ENDPOINT names, else Swift started as `npm test` starts it (scripts/swift-s3.sh). */
function ensureSwift(log: (line: string) => void): void {
  if (process.env.BOTVAULT_SWIFT_S3_ENDPOINT) return;
  const script = resolve(import.meta.dirname, '../../scripts/swift-s3.sh');
  log('  (starting OpenStack Swift: bash scripts/swift-s3.sh start)');
  execFileSync('bash', [script, 'start'], { stdio: ['ignore', 'ignore', 'inherit'] });
  // `env` prints one line: export NAME=value NAME=value ...
  for (const pair of execFileSync('bash', [script, 'env'], { encoding: 'utf8' })
    .replace(/^export\s+/, '')
    .trim()
    .split(/\s+/)) {
    const at = pair.indexOf('=');
    if (at > 0) process.env[pair.slice(0, at)] = pair.slice(at + 1);
  }
}

export async function benchMirror(versions: number, log: (line: string) => void): Promise<MirrorBenchResult> {
  ensureSwift(log);
  const swift = swiftS3FromEnv();
  const kms = await startKmsSimulator();
  const macKeyArn = kms.createKey();
  const credentials = { accessKeyId: process.env.BOTVAULT_SWIFT_S3_ACCESS_KEY!, secretAccessKey: process.env.BOTVAULT_SWIFT_S3_SECRET_KEY! };
  const kmsClient = new KMSClient({ endpoint: kms.url, region: 'us-east-1', credentials });
  const mac = kmsMacKey(kmsClient, macKeyArn);
  const bucket = `bench-mirror-${randomBytes(4).toString('hex')}`;
  const work = mkdtempSync(join(tmpdir(), 'botvault-bench-mirror-'));
  try {
    await createVersionedBucket(swift.client, bucket);

    // ---- the bucket: `versions` versions of one bot, each with its change record ----
    const setupStarted = Date.now();
    const bot = sampleLexBot('BENCHMIRR1', 'Bench', ['Greet', 'Order', 'Cancel']);
    const greet = bot.locales[0]!.intents[0]!;
    let previous: { versionId: string; sha256: string } | null = null;
    let archiveBytes = 0;
    for (let i = 0; i < versions; i++) {
      const added = `bench utterance number ${i}`;
      if (i > 0) greet.utterances.push(added);
      const zip = await lexExportZip(bot, { seed: i, mtime: new Date(Date.UTC(2026, 0, 1) + i * 86_400_000) });
      if (i === 0) archiveBytes = zip.length;
      const runId = `bench-${String(i).padStart(3, '0')}`;
      const versionId = await putAsStack(swift.client, bucket, mac, 'archive', KEY, zip, { [RUN_ID_METADATA]: runId });
      const sha256 = createHash('sha256').update(zip).digest('hex');
      const record: ChangeRecord = changeRecordSchema.parse({
        format: CHANGE_RECORD_FORMAT,
        provider: 'lex',
        target: TARGET,
        key: KEY,
        runId,
        recordedAt: new Date().toISOString(),
        archive: { versionId, sha256 },
        previous,
        status: previous ? 'summarized' : 'first',
        changes: previous ? [{ scope: 'en_US', subject: 'intent Greet', detail: '+1 utterance', added: [added] }] : [],
      });
      await putAsStack(swift.client, bucket, mac, 'changes', changeRecordKey(KEY), Buffer.from(JSON.stringify(record)), { [RUN_ID_METADATA]: runId });
      previous = { versionId, sha256 };
      if ((i + 1) % 50 === 0) log(`  ${i + 1} of ${versions} versions written`);
    }
    const setupSeconds = (Date.now() - setupStarted) / 1000;

    // ---- the mirror, as an operator runs it ----
    const env: NodeJS.ProcessEnv = {
      PATH: process.env.PATH ?? '',
      HOME: work,
      AWS_CONFIG_FILE: join(work, 'no-aws-config'),
      AWS_SHARED_CREDENTIALS_FILE: join(work, 'no-aws-credentials'),
      AWS_EC2_METADATA_DISABLED: 'true',
      AWS_REGION: 'us-east-1',
      AWS_ACCESS_KEY_ID: credentials.accessKeyId,
      AWS_SECRET_ACCESS_KEY: credentials.secretAccessKey,
      AWS_ENDPOINT_URL_S3: swift.endpoint,
      AWS_ENDPOINT_URL_KMS: kms.url,
    };
    const dir = join(work, 'mirror');
    const args = ['mirror', '--git', dir, '--bucket', bucket, '--mac-key', macKeyArn];
    const first = await runCli(args, env, work, [50, versions]);
    if (first.code !== 0) throw new Error(`the mirror exited ${first.code}: ${first.stderr.trim()}`);
    const commits = first.lines.length - 1; // one line per commit, then the total
    log(`  ${first.lines.at(-1)}`);
    const again = await runCli(args, env, work, []);
    log(`  again: ${again.lines.at(-1)}`);
    return {
      versions,
      archiveBytes,
      setupSeconds,
      exitCode: first.code,
      commits,
      elapsedSeconds: first.seconds,
      versionsPerSecond: commits / first.seconds,
      rssAt50MiB: first.rssAt.get(50) ?? Number.NaN,
      rssAtEndMiB: first.rssAt.get(versions) ?? Number.NaN,
      peakRssMiB: first.maxRssKiB !== undefined ? first.maxRssKiB / 1024 : Number.NaN,
      noopSeconds: again.seconds,
      noopExitCode: again.code,
    };
  } finally {
    kmsClient.destroy();
    await kms.close();
    rmSync(work, { recursive: true, force: true });
  }
}
