/**
 * The one test that really bundles: every Lambda through local esbuild (no
 * Docker), exactly as `cdk synth` does. The other infra tests skip bundling.
 * The bundles then run the whole job against the Lex V2 simulator and s3rver:
 * what ships is what works, SDK schema rewrite (lib/bundling) included.
 */
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { GetObjectCommand, ListObjectsV2Command } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startKmsSimulator } from '../simulators/kms-simulator';
import { handlerEnvironment } from '../lambdas/handler-environment';
import { startLexSimulator } from '../simulators/lex-simulator';
import { createBucket, s3ClientFor, startS3Server } from '../simulators/s3-server';
import { REGION, synthBundles } from './helpers';
import { pollingSchema } from '../../lib/core/schemas';

const outdir = mkdtempSync(join(tmpdir(), 'botvault-bundle-'));
afterAll(() => rmSync(outdir, { recursive: true, force: true }));

/** Function name (Plan, StoreArchive, ...) → its bundle's directory. */
let bundleDir: Map<string, string>;
beforeAll(() => {
  bundleDir = synthBundles(outdir);
}, 180_000);

describe('bundling with local esbuild', () => {
  it('writes a minified CommonJS bundle with a source map for each of the six Lambdas, AWS SDK included', () => {
    expect([...bundleDir.keys()].sort()).toEqual(['CheckExport', 'Cleanup', 'Plan', 'StartExport', 'StoreArchive', 'Summarize']);
    const dirs = new Set(bundleDir.values());
    // Six different handlers, six different bundles.
    expect(dirs.size).toBe(6);
    for (const dir of dirs) {
      const code = readFileSync(join(dir, 'index.js'), 'utf8');
      expect(existsSync(join(dir, 'index.js.map')), `${dir}/index.js.map`).toBe(true);
      // Booleans, not toMatch: a failure must not print a 1 MB bundle.
      expect(/\/\/# sourceMappingURL=index\.js\.map\s*$/.test(code), `${dir}: source map comment`).toBe(true);
      // CommonJS, minified: long lines (an unminified bundle averages well under 100 characters a line).
      expect(/\bmodule\.exports\b/.test(code), `${dir}: CommonJS`).toBe(true);
      expect(code.length / code.split('\n').length, `${dir}: average line length`).toBeGreaterThan(1000);
      // The AWS SDK clients are bundled, not required from the runtime's copy (the SDK's own
      // error texts mention optional packages such as signature-v4-crt, hence client-*).
      expect(/require\(["']@aws-sdk\/client-/.test(code), `${dir}: requires an SDK client at run time`).toBe(false);
      expect(/LexModelsV2Client|S3Client/.test(code), `${dir}: contains an SDK client`).toBe(true);
      // Credentials come from the environment only (lambdas/shared/lambda-credentials.ts): none of the default
      // chain's other sources (SSO, web identity, container, credential_process) is bundled.
      expect(/AWS_SECRET_ACCESS_KEY/.test(code), `${dir}: reads environment credentials`).toBe(true);
      for (const source of ['sso_start_url', 'AWS_WEB_IDENTITY_TOKEN_FILE', 'AWS_CONTAINER_CREDENTIALS_FULL_URI', 'credential_process']) {
        expect(code.includes(source), `${dir}: bundles the default credential chain (${source})`).toBe(false);
      }
    }

    // The bundles run: loaded as CommonJS (as Lambda loads index.js) in a plain Node process, each exports
    // a `handler` that validates its input. (Outside the repository: its package.json says "type": "module".)
    const script = `
      const results = {};
      Promise.all(${JSON.stringify([...dirs])}.map(async (dir) => {
        const { handler } = require(require('node:path').join(dir, 'index.js'));
        try { await handler({}); results[dir] = 'resolved'; } catch (e) { results[dir] = e.name; }
      })).then(() => process.stdout.write(JSON.stringify(results)));`;
    const out = execFileSync(process.execPath, ['-e', script], {
      cwd: outdir,
      env: { ...process.env, POWERTOOLS_LOG_LEVEL: 'SILENT', AWS_REGION: REGION },
    });
    expect(Object.values(JSON.parse(out.toString()) as Record<string, string>)).toEqual(Array(6).fill('InvalidInputError'));
  });

  it('the bundled handlers back up a Lex bot end to end: exact bytes and metadata in S3, a run manifest', async () => {
    const sim = await startLexSimulator({ bots: [{ botId: 'ALPHABOT01', botName: 'Alpha', versions: [], locales: ['en_US'], intents: ['Greet'] }] });
    const s3server = await startS3Server();
    const kms = await startKmsSimulator();
    const s3 = s3ClientFor(s3server.endpoint);
    try {
      await createBucket(s3server.endpoint, 'bundled');
      const macKeyArn = kms.createKey();
      Object.assign(
        process.env,
        handlerEnvironment({ lexUrl: sim.url, s3Endpoint: s3server.endpoint, bucket: 'bundled', kms: { url: kms.url, macKeyArn } }),
      );
      // Lambda loads index.js as CommonJS; so does Node's own require (not vitest's module loader).
      // biome-ignore lint/suspicious/noExplicitAny: the bundles' results are plain JSON, read below field by field.
      type Handler = (event: unknown) => Promise<any>;
      const load = (name: string) => (createRequire(import.meta.url)(join(bundleDir.get(name)!, 'index.js')) as { handler: Handler }).handler;
      const [plan, startExport, checkExport, storeArchive, cleanup, summarize] = [
        'Plan',
        'StartExport',
        'CheckExport',
        'StoreArchive',
        'Cleanup',
        'Summarize',
      ].map(load);
      const polling = pollingSchema.parse({ firstWaitSeconds: 1, maxWaitSeconds: 2, budgetSeconds: 20 });

      const { jobs } = await plan!({
        runId: 'run-bundled',
        startedAt: '2024-05-17T03:00:00Z',
        targets: [{ provider: 'lex', discover: true }],
        input: {},
      });
      expect(jobs).toHaveLength(1);
      const job = jobs[0];
      let state = await startExport!({ job, polling });
      while (state.status === 'IN_PROGRESS') {
        await new Promise((r) => setTimeout(r, 50));
        state = await checkExport!({ job, polling, export: state });
      }
      const result = await storeArchive!({ job, runId: 'run-bundled', export: state });
      const served = sim.archiveFor(state.ref.exportId);
      const sha256 = createHash('sha256').update(served).digest('hex');
      expect(result).toMatchObject({ status: 'SUCCEEDED', key: 'lex/123456789012/us-east-1/ALPHABOT01/DRAFT/bot.zip', bytes: served.length, sha256 });

      const stored = await s3.send(new GetObjectCommand({ Bucket: 'bundled', Key: job.key }));
      expect(Buffer.from(await stored.Body!.transformToByteArray()).equals(served)).toBe(true);
      expect(stored.Metadata).toMatchObject({
        sha256,
        source: job.id,
        'export-id': state.ref.exportId,
        'run-id': 'run-bundled',
        'bot-name': 'Alpha',
        // The bundle's KMS client made the MAC with the configured key.
        mac: expect.stringMatching(/^v1:[A-Za-z0-9+/]{43}=$/),
      });
      expect(kms.calls.map((c) => [c.op, c.keyId, c.status])).toContainEqual(['GenerateMac', macKeyArn, 200]);

      expect(await cleanup!({ job, export: state })).toEqual({ cleaned: true });
      expect(sim.exports.get(state.ref.exportId)?.deleted).toBe(true);
      expect(await summarize!({ runId: 'run-bundled', startedAt: '2024-05-17T03:00:00Z', trigger: 'manual', results: [result] })).toMatchObject({
        total: 1,
        succeeded: 1,
      });
      const listed = await s3.send(new ListObjectsV2Command({ Bucket: 'bundled', Prefix: 'runs/' }));
      expect(listed.Contents?.map((o) => o.Key)).toEqual(['runs/2024/05/17/run-bundled.json']);
    } finally {
      s3.destroy();
      await sim.close();
      await kms.close();
      await s3server.close();
    }
  });
});
