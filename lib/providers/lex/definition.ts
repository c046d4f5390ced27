/** Amazon Lex V2's definition (lib/providers/definition.ts): target schema, key rules, sidecar section. */
import type { ProviderDefinition } from '../definition';
import { LEX_ARCHIVE_PREFIX, lexJob, parseLexKey, specForTarget } from './keys';
import { type LexRestoreInfo, lexRestoreInfoSchema } from './restore-info';
import { type LexTarget, lexTargetSchema } from './target';

export const lexDefinition: ProviderDefinition<LexTarget, LexRestoreInfo> = {
  targetSchema: lexTargetSchema,
  archivePrefix: LEX_ARCHIVE_PREFIX,
  jobIdOf: (target, region) => (target.discover ? undefined : lexJob(region, specForTarget(target)).id),
  parseKey: parseLexKey,
  restoreInfoSchema: lexRestoreInfoSchema,
};
