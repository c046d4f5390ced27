/**
 * The one test that really bundles: every Lambda through local esbuild (no
 * Docker), exactly as `cdk synth` does. The other infra tests skip bundling.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Template } from 'aws-cdk-lib/assertions';
import { afterAll, describe, expect, it } from 'vitest';
import { buildApp } from '../../lib/app';
import { parseConfig } from '../../lib/config';
import { ACCOUNT, REGION, cdkJsonContext } from './helpers';

const outdir = mkdtempSync(join(tmpdir(), 'botvault-bundle-'));
afterAll(() => rmSync(outdir, { recursive: true, force: true }));

describe('bundling with local esbuild', () => {
  it('writes a minified CommonJS bundle with a source map for each of the six Lambdas, AWS SDK included', () => {
    const config = parseConfig({ targets: [{ provider: 'lex', botId: 'ABCDEFGHIJ', botVersion: 'DRAFT' }] });
    const { app, stack } = buildApp(config, { outdir, context: cdkJsonContext() }, { account: ACCOUNT, region: REGION });
    app.synth();
    const functions = Object.values(Template.fromStack(stack).findResources('AWS::Lambda::Function')) as { Properties: { Code: { S3Key: string } } }[];
    expect(functions).toHaveLength(6);
    const assets = new Set(functions.map((f) => f.Properties.Code.S3Key.replace(/\.zip$/, '')));
    // Six different handlers, six different bundles.
    expect(assets.size).toBe(6);
    for (const hash of assets) {
      const dir = join(outdir, `asset.${hash}`);
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
      Promise.all(${JSON.stringify([...assets])}.map(async (hash) => {
        const { handler } = require(require('node:path').join(${JSON.stringify(outdir)}, 'asset.' + hash, 'index.js'));
        try { await handler({}); results[hash] = 'resolved'; } catch (e) { results[hash] = e.name; }
      })).then(() => process.stdout.write(JSON.stringify(results)));`;
    const out = execFileSync(process.execPath, ['-e', script], { cwd: outdir, env: { ...process.env, POWERTOOLS_LOG_LEVEL: 'SILENT', AWS_REGION: REGION } });
    expect(Object.values(JSON.parse(out.toString()) as Record<string, string>)).toEqual(Array(6).fill('InvalidInputError'));
  }, 120_000);
});
