/**
 * Makes the AWS SDK's generated schema modules tree-shakable by esbuild.
 *
 * Since 3.930 every SDK client ships one `dist-es/schemas/schemas_0.js` with
 * the schemas of its whole API. Their trait objects use computed keys that
 * name the module's string table (`const _h = "http"; … { [_h]: [...] }`),
 * and esbuild keeps any statement with a computed key, because evaluating a
 * key could run code (evanw/esbuild#4373). So one command from a client
 * pulls in the schemas of all its commands: ~68 kB each for S3 and Lex V2 in
 * every bundle (aws/aws-sdk-js-v3#7607).
 *
 * The rewrite puts the constant's literal in place of the computed key —
 * `{ "http": [...] }` — which is the same object and what the upstream fix
 * generates (smithy-lang/smithy-typescript#1889). When the SDK ships that
 * fix, the rewrite finds nothing to replace and this plugin can go.
 */
import { readFile } from 'node:fs/promises';
import type { Plugin } from 'esbuild';

/** The generated schema modules of `@aws-sdk/client-*` (ES module builds). */
const SDK_SCHEMA_MODULE = /[\\/]@aws-sdk[\\/]client-[^\\/]+[\\/]dist-es[\\/]schemas[\\/]schemas_\d+\.js$/;

/** `const _h = "http";`: the string table at the top of a schema module. */
const STRING_CONSTANT = /^const (_\w+) = ("(?:[^"\\\r\n]|\\.)*");$/gm;
/** `{ [_h]:` or `, [_h]:`: a computed object key naming one identifier. */
const COMPUTED_KEY = /([{,]\s*)\[(_\w+)\](\s*:)/g;

export interface LiteralKeysResult {
  readonly code: string;
  /** How many computed keys became literals (0 once the SDK generates literal keys itself). */
  readonly replaced: number;
}

/**
 * Replaces each computed key that names one of the module's string constants
 * with that constant's literal. Keys naming anything else stay as they are,
 * and so does a `"__proto__"` key (as a literal it would set the prototype).
 */
export function literalSchemaKeys(source: string): LiteralKeysResult {
  const strings = new Map<string, string>();
  for (const [, name, literal] of source.matchAll(STRING_CONSTANT)) strings.set(name!, literal!);
  let replaced = 0;
  const code = source.replace(COMPUTED_KEY, (whole, before: string, name: string, colon: string) => {
    const literal = strings.get(name);
    if (literal === undefined || JSON.parse(literal) === '__proto__') return whole;
    replaced++;
    return `${before}${literal}${colon}`;
  });
  return { code, replaced };
}

/** esbuild plugin applying {@link literalSchemaKeys} to every SDK client's schema modules. */
export const sdkSchemaKeysPlugin: Plugin = {
  name: 'botvault-sdk-schema-keys',
  setup(build) {
    build.onLoad({ filter: SDK_SCHEMA_MODULE }, async ({ path }) => ({
      contents: literalSchemaKeys(await readFile(path, 'utf8')).code,
      loader: 'js',
    }));
  },
};
