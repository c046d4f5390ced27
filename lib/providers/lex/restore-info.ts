/**
 * Lex's section of the restore sidecar (`<archive key>.restore.json`, schema in
 * lib/providers/definitions.ts): what a Lex export leaves out and a restore needs.
 */
// zod/mini: bundled into the Lambdas (lib/core/schemas.ts says why).
import * as z from 'zod/mini';
import { nonEmptyString } from '../../core/contracts';

/** A Lex alias as DescribeBotAlias reports it: the parts CreateBotAlias needs to recreate it. */
export const lexAliasInfoSchema = z.object({
  botAliasId: nonEmptyString(),
  botAliasName: nonEmptyString(),
  description: z.optional(z.string()),
  botVersion: z.optional(z.string()),
  /** Per locale id: enabled, and the alias's Lambda code hook (`lambdaARN`, `codeHookInterfaceVersion`). */
  botAliasLocaleSettings: z.optional(
    z.record(
      z.string(),
      z.object({
        enabled: z.boolean(),
        codeHookSpecification: z.optional(z.object({ lambdaCodeHook: z.object({ lambdaARN: z.string(), codeHookInterfaceVersion: z.string() }) })),
      }),
    ),
  ),
  /** As Lex returns it (`textLogSettings[]`, `audioLogSettings[]` with their destinations); passed back to CreateBotAlias unchanged. */
  conversationLogSettings: z.optional(
    z.object({
      textLogSettings: z.optional(z.array(z.record(z.string(), z.unknown()))),
      audioLogSettings: z.optional(z.array(z.record(z.string(), z.unknown()))),
    }),
  ),
  sentimentAnalysisSettings: z.optional(z.object({ detectSentiment: z.boolean() })),
});
export type LexAliasInfo = z.infer<typeof lexAliasInfoSchema>;

/** Lex: the bot settings StartImport needs for a new bot, plus aliases and tags (none of which the export holds). */
export const lexRestoreInfoSchema = z.object({
  botId: nonEmptyString(),
  botName: nonEmptyString(),
  description: z.optional(z.string()),
  roleArn: nonEmptyString(),
  dataPrivacy: z.object({ childDirected: z.boolean() }),
  idleSessionTTLInSeconds: z.int(),
  botType: z.optional(z.string()),
  aliases: z.array(lexAliasInfoSchema),
  tags: z.record(z.string(), z.string()),
});
export type LexRestoreInfo = z.infer<typeof lexRestoreInfoSchema>;
