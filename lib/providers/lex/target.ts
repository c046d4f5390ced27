/**
 * A Lex V2 target in the config file: which bot, locale, custom vocabulary or
 * test set to export, or which bots to discover.
 */
// zod/mini: bundled into the Lambdas (lib/core/schemas.ts says why).
import * as z from 'zod/mini';
import { accountRefSchema, regionSchema } from '../../core/accounts';
import { secretRefSchema } from '../../core/schemas';

/** Lex bot ids and test set ids are 10 upper-case alphanumerics. */
export const LEX_ID = /^[0-9A-Z]{10}$/;
/** `DRAFT` or a numbered version. */
const LEX_BOT_VERSION = /^(DRAFT|[1-9][0-9]{0,4})$/;
/** Lex locale ids look like `en_US`, `de_DE`, `es_419`. */
const LEX_LOCALE = /^[a-z]{2}_[A-Z0-9]{2,3}$/;
const passwordSecret = secretRefSchema('must be a Secrets Manager secret name (e.g. "botvault/lex-password") or a secret ARN');

/**
 * A Lex V2 target. One object covers every Lex export kind so that errors
 * name the field that is wrong instead of "no union member matched":
 * - a whole bot: `botId` + `botVersion`
 * - one locale: add `localeId`
 * - a locale's custom vocabulary: add `localeId` and `customVocabulary: true`
 * - a test set: `testSetId` alone
 * - discovery: `discover: true` (+ `include` / `exclude` name patterns, `versions`)
 *
 * Where: a static target names one `account` and `region`, a discovery
 * target any number (`accounts`, `regions`); both default to the stack's own
 * account and region (lib/core/accounts.ts).
 */
export const lexTargetSchema = z
  .strictObject({
    provider: z.literal('lex'),
    botId: z.optional(z.string().check(z.regex(LEX_ID, { message: 'must be a Lex bot id: 10 upper-case letters or digits, e.g. "ABCDEFGHIJ"' }))),
    botVersion: z.optional(z.string().check(z.regex(LEX_BOT_VERSION, { message: 'must be "DRAFT" or a version number such as "3"' }))),
    localeId: z.optional(z.string().check(z.regex(LEX_LOCALE, { message: 'must be a Lex locale id such as "en_US"' }))),
    customVocabulary: z.optional(z.boolean()),
    testSetId: z.optional(z.string().check(z.regex(LEX_ID, { message: 'must be a Lex test set id: 10 upper-case letters or digits' }))),
    fileFormat: z.optional(z.enum(['LexJson', 'TSV', 'CSV'])),
    passwordSecret: z.optional(passwordSecret),
    discover: z.optional(z.literal(true)),
    include: z.optional(z.array(z.string().check(z.minLength(1)))),
    exclude: z.optional(z.array(z.string().check(z.minLength(1)))),
    versions: z.optional(z.enum(['DRAFT', 'latest', 'all'])),
    locales: z.optional(z.boolean()),
    account: z.optional(accountRefSchema),
    region: z.optional(regionSchema),
    accounts: z.optional(
      z.array(accountRefSchema).check(z.minLength(1, { message: "must name at least one account (leave it out for the stack's own)" })),
    ),
    regions: z.optional(z.array(regionSchema).check(z.minLength(1, { message: "must name at least one region (leave it out for the stack's own)" }))),
  })
  .check(
    z.superRefine((t, ctx) => {
      const issue = (path: string, message: string) => ctx.addIssue({ code: 'custom', path: [path], message });
      if (t.discover) {
        for (const [field, instead] of [
          ['account', 'accounts'],
          ['region', 'regions'],
        ] as const) {
          if (t[field] !== undefined) issue(field, `is for a static target; a discovery target takes "${instead}": [...]`);
        }
        for (const field of ['botId', 'botVersion', 'localeId', 'customVocabulary', 'testSetId'] as const) {
          if (t[field] !== undefined)
            issue(field, `is not allowed with "discover": true (discovery finds the bots itself); remove it or remove "discover"`);
        }
        for (const [field, patterns] of [
          ['include', t.include],
          ['exclude', t.exclude],
        ] as const) {
          for (const p of patterns ?? []) {
            // Lex bot names are 1 to 100 characters (CreateBot botName); a longer pattern of literals could match none.
            if (p.length === 0 || p.replace(/\*/g, '').length > 100) {
              issue(
                field,
                `has a pattern "${p.slice(0, 40)}${p.length > 40 ? '…' : ''}" that matches no Lex bot name (1 to 100 characters; "*" any run, "?" one)`,
              );
            }
          }
        }
        return;
      }
      for (const field of ['include', 'exclude', 'versions', 'locales'] as const) {
        if (t[field] !== undefined) issue(field, `only applies with "discover": true`);
      }
      for (const [field, instead] of [
        ['accounts', 'account'],
        ['regions', 'region'],
      ] as const) {
        if (t[field] !== undefined) issue(field, `only applies with "discover": true; a static target lives in one place: "${instead}": "…"`);
      }
      if (t.testSetId !== undefined) {
        for (const field of ['botId', 'botVersion', 'localeId', 'customVocabulary'] as const) {
          if (t[field] !== undefined) issue(field, 'is not allowed on a test set target ("testSetId"); a test set export names only the test set');
        }
        if (t.fileFormat !== undefined && t.fileFormat !== 'CSV') issue('fileFormat', 'must be "CSV" for a test set export');
        return;
      }
      if (t.botId === undefined) issue('botId', 'is required: give the bot id (or use "testSetId", or "discover": true)');
      if (t.botVersion === undefined) issue('botVersion', 'is required: "DRAFT" or a version number such as "3"');
      if (t.customVocabulary && t.localeId === undefined)
        issue('localeId', 'is required with "customVocabulary": true (a custom vocabulary belongs to one locale)');
      if (t.customVocabulary && t.fileFormat !== undefined && t.fileFormat !== 'TSV')
        issue('fileFormat', 'must be "TSV" for a custom vocabulary export');
      if (!t.customVocabulary && t.fileFormat !== undefined && t.fileFormat !== 'LexJson') {
        issue('fileFormat', 'must be "LexJson" for a bot or locale export (TSV is for custom vocabularies, CSV for test sets)');
      }
    }),
  );

export type LexTarget = z.infer<typeof lexTargetSchema>;
