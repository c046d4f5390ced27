/**
 * The bundle-time rewrite of the SDK's schema modules (lib/bundling/sdk-schema-keys.ts):
 * same objects, and esbuild can then drop the schemas of commands a Lambda never sends.
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { build } from 'esbuild';
import { describe, expect, it } from 'vitest';
import { literalSchemaKeys, sdkSchemaKeysPlugin } from '../../lib/bundling/sdk-schema-keys';
import { PROJECT_ROOT } from '../../lib/project-root';

const require = createRequire(import.meta.url);
const evaluate = (code: string, name: string): unknown => new Function(`${code}\nreturn ${name};`)();

describe('literalSchemaKeys', () => {
  const MODULE = [
    'const _h = "http";',
    'const _e = "error";',
    'const _q = "say \\"hi\\"";',
    'const _p = "__proto__";',
    'var other = "dynamic";',
    'var A = [9, "n0", "PutThing", { [_h]: ["PUT", "/things/{id}", 200], [_e]: "client" }];',
    'var B = [3, "n0", "Quoted",\n    { [_q]: 1 }, [other]];',
    'var C = { [other]: 1, [_p]: 2 };',
  ].join('\n');

  it('replaces computed keys naming the string table with their literals, and builds the same objects', () => {
    const { code, replaced } = literalSchemaKeys(MODULE);
    expect(replaced).toBe(3);
    expect(code).toContain('{ "http": ["PUT", "/things/{id}", 200], "error": "client" }');
    expect(code).toContain('{ "say \\"hi\\"": 1 }');
    for (const name of ['A', 'B', 'C']) expect(evaluate(code, name)).toEqual(evaluate(MODULE, name));
  });

  it('leaves keys naming anything else, and a "__proto__" key, computed', () => {
    const { code } = literalSchemaKeys(MODULE);
    expect(code).toContain('var C = { [other]: 1, [_p]: 2 };');
    // As a literal, "__proto__" would set the prototype instead of an own property.
    expect(Object.keys(evaluate(code, 'C') as object)).toEqual(['dynamic', '__proto__']);
    // An array element is not a key.
    expect(code).toContain('[other]];');
  });

  it.each(['client-s3', 'client-lex-models-v2', 'client-secrets-manager'])('leaves no computed key on the string table in @aws-sdk/%s', (client) => {
    const source = readFileSync(require.resolve(`@aws-sdk/${client}/dist-es/schemas/schemas_0.js`, { paths: [PROJECT_ROOT] }), 'utf8');
    const before = literalSchemaKeys(source);
    expect(before.replaced).toBeGreaterThan(10);
    // Idempotent: a second pass finds nothing left to replace.
    expect(literalSchemaKeys(before.code).replaced).toBe(0);
  });
});

describe('sdkSchemaKeysPlugin', () => {
  /** Bundles a one-command S3 entry exporting the HeadObject operation schema, with or without the plugin. */
  async function bundle(plugin: boolean): Promise<{ bytes: number; code: string }> {
    const result = await build({
      stdin: {
        contents: `import { S3Client, HeadObjectCommand, HeadObject$ } from '@aws-sdk/client-s3';
          export const send = () => new S3Client({}).send(new HeadObjectCommand({ Bucket: 'b', Key: 'k' }));
          export const schema = HeadObject$;`,
        resolveDir: PROJECT_ROOT,
        loader: 'ts',
      },
      bundle: true,
      minify: true,
      write: false,
      platform: 'node',
      format: 'cjs',
      mainFields: ['module', 'main'],
      logLevel: 'error',
      plugins: plugin ? [sdkSchemaKeysPlugin] : [],
    });
    const code = result.outputFiles[0]!.text;
    return { bytes: Buffer.byteLength(code), code };
  }

  /** The schema with its lazy member references resolved, to a fixed depth (schemas refer to each other). */
  function resolved(schema: unknown, depth = 6): unknown {
    if (depth === 0) return '…';
    if (typeof schema === 'function') return resolved((schema as () => unknown)(), depth - 1);
    if (Array.isArray(schema)) return schema.map((s) => resolved(s, depth - 1));
    if (schema && typeof schema === 'object') return Object.fromEntries(Object.entries(schema).map(([k, v]) => [k, resolved(v, depth - 1)]));
    return schema;
  }

  it('drops the schemas of commands the bundle never sends and keeps the ones it does, unchanged', async () => {
    const [without, withPlugin] = await Promise.all([bundle(false), bundle(true)]);
    expect(without.code.includes('SelectObjectContent')).toBe(true);
    expect(withPlugin.code.includes('SelectObjectContent')).toBe(false);
    expect(without.bytes - withPlugin.bytes).toBeGreaterThan(40_000);

    const load = (code: string) => {
      const module = { exports: {} as { schema: unknown } };
      new Function('module', 'exports', 'require', code)(module, module.exports, require);
      return module.exports.schema;
    };
    expect(resolved(load(withPlugin.code))).toEqual(resolved(load(without.code)));
  });
});
