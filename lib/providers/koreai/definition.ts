/** Kore.ai's definition (lib/providers/definition.ts): target schema and checks, key rule, sidecar section. */
import type { ProviderDefinition } from '../definition';
import { KOREAI_ARCHIVE_PREFIX, koreaiJob, parseKoreaiKey } from './keys';
import { type KoreaiRestoreInfo, koreaiRestoreInfoSchema } from './restore-info';
import { checkKoreaiTargets, type KoreaiTarget, koreaiTargetSchema } from './target';

export const koreaiDefinition: ProviderDefinition<KoreaiTarget, KoreaiRestoreInfo> = {
  targetSchema: koreaiTargetSchema,
  checkTargets: checkKoreaiTargets,
  archivePrefix: KOREAI_ARCHIVE_PREFIX,
  jobIdOf: (target) => (target.discover ? undefined : koreaiJob(target).id),
  parseKey: parseKoreaiKey,
  restoreInfoSchema: koreaiRestoreInfoSchema,
};
