/**
 * Kore.ai's section of the restore sidecar (`<archive key>.restore.json`, schema in
 * lib/providers/definitions.ts).
 */
// zod/mini: bundled into the Lambdas (lib/core/schemas.ts says why).
import * as z from 'zod/mini';
import { nonEmptyString } from '../../core/contracts';

export const koreaiRestoreInfoSchema = z.object({
  botId: nonEmptyString(),
  /** The bot's name, from the export's botDefinition.json (absent when the archive does not carry it). */
  botName: z.optional(z.string()),
});
export type KoreaiRestoreInfo = z.infer<typeof koreaiRestoreInfoSchema>;
