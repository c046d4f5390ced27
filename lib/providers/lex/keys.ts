/**
 * Lex V2's S3 key rules (DESIGN §3: one stable key per backed-up resource)
 * and job ids, used by Plan (lib/providers/lex/provider.ts), the CLI and the
 * bucket's prefix grants alike, so that none of them can drift:
 *
 *   lex/<region>/<botId>/<botVersion>/bot.zip
 *   lex/<region>/<botId>/<botVersion>/locales/<localeId>.zip
 *   lex/<region>/<botId>/<botVersion>/locales/<localeId>/custom-vocabulary.zip
 *   lex/<region>/test-sets/<testSetId>/test-set.zip
 */
// zod/mini: bundled into the Lambdas (lib/core/schemas.ts says why).
import * as z from 'zod/mini';
import type { Job } from '../../core/contracts';
import { InvalidInputError } from '../../core/errors';
import type { KeyInfo } from '../definition';
import type { LexTarget } from './target';

/** The first segment of every Lex archive key. */
export const LEX_ARCHIVE_PREFIX = 'lex/';

/** What a Lex job exports, normalized; identifiers only (a secret's name, never its value). */
export const lexSpecSchema = z.object({
  kind: z.enum(['bot', 'botLocale', 'customVocabulary', 'testSet']),
  botId: z.optional(z.string()),
  botVersion: z.optional(z.string()),
  localeId: z.optional(z.string()),
  testSetId: z.optional(z.string()),
  fileFormat: z.enum(['LexJson', 'TSV', 'CSV']),
  passwordSecret: z.optional(z.string()),
});
export type LexSpec = z.infer<typeof lexSpecSchema>;

export function lexJob(region: string, spec: LexSpec, name?: string): Job {
  const { botId, botVersion, localeId, testSetId } = spec;
  let id: string;
  let key: string;
  switch (spec.kind) {
    case 'bot':
      id = `lex:${botId}:${botVersion}`;
      key = `lex/${region}/${botId}/${botVersion}/bot.zip`;
      break;
    case 'botLocale':
      id = `lex:${botId}:${botVersion}:${localeId}`;
      key = `lex/${region}/${botId}/${botVersion}/locales/${localeId}.zip`;
      break;
    case 'customVocabulary':
      id = `lex:${botId}:${botVersion}:${localeId}:custom-vocabulary`;
      key = `lex/${region}/${botId}/${botVersion}/locales/${localeId}/custom-vocabulary.zip`;
      break;
    case 'testSet':
      id = `lex:test-set:${testSetId}`;
      key = `lex/${region}/test-sets/${testSetId}/test-set.zip`;
      break;
  }
  const cleanSpec = Object.fromEntries(Object.entries(spec).filter(([, v]) => v !== undefined));
  return { id, provider: 'lex', key, ...(name ? { name } : {}), spec: cleanSpec };
}

/** The normalized spec of a static (non-discovery) target. */
export function specForTarget(t: LexTarget): LexSpec {
  const password = t.passwordSecret ? { passwordSecret: t.passwordSecret } : {};
  if (t.testSetId) return { kind: 'testSet', testSetId: t.testSetId, fileFormat: 'CSV', ...password };
  if (!t.botId || !t.botVersion) throw new InvalidInputError('A Lex target needs botId and botVersion (or testSetId, or "discover": true).');
  const bot = { botId: t.botId, botVersion: t.botVersion };
  if (t.customVocabulary) return { kind: 'customVocabulary', ...bot, localeId: t.localeId, fileFormat: 'TSV', ...password };
  if (t.localeId) return { kind: 'botLocale', ...bot, localeId: t.localeId, fileFormat: 'LexJson', ...password };
  return { kind: 'bot', ...bot, fileFormat: 'LexJson', ...password };
}

/** What a Lex archive key names; undefined for a key of no Lex shape. */
export function parseLexKey(key: string): KeyInfo | undefined {
  const parts = key.split('/');
  const [provider, , a, b, c, d, e] = parts;
  if (provider !== 'lex') return undefined;
  if (a === 'test-sets' && b && c === 'test-set.zip' && parts.length === 5) return { key, provider, id: `lex:test-set:${b}`, testSetId: b };
  if (a && b && c === 'bot.zip' && parts.length === 5) return { key, provider, id: `lex:${a}:${b}`, botId: a, botVersion: b };
  if (a && b && c === 'locales' && d?.endsWith('.zip') && parts.length === 6) {
    const localeId = d.slice(0, -'.zip'.length);
    return { key, provider, id: `lex:${a}:${b}:${localeId}`, botId: a, botVersion: b, localeId };
  }
  if (a && b && c === 'locales' && d && e === 'custom-vocabulary.zip' && parts.length === 7) {
    return { key, provider, id: `lex:${a}:${b}:${d}:custom-vocabulary`, botId: a, botVersion: b, localeId: d };
  }
  return undefined;
}
