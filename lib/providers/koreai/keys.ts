/**
 * Kore.ai's S3 key rule (DESIGN §3: one stable key per backed-up resource)
 * and job ids, shared by Plan, the CLI and the bucket's prefix grants:
 *
 *   koreai/<host>/<botId>/<exportType>/bot.zip
 */
// zod/mini: bundled into the Lambdas (lib/core/schemas.ts says why).
import * as z from 'zod/mini';
import { nonEmptyString, type Job } from '../../core/contracts';
import { InvalidInputError } from '../../core/errors';
import type { KeyInfo } from '../definition';
import { exportCredentials, type KoreaiTarget } from './target';

/** The first segment of every Kore.ai archive key. */
export const KOREAI_ARCHIVE_PREFIX = 'koreai/';

/** What a Kore.ai job exports; identifiers and options only (a secret's name, never its value). */
export const koreaiSpecSchema = z.object({
  host: z.url(),
  botId: nonEmptyString(),
  exportType: z.enum(['published', 'latest']),
  credentialsSecret: nonEmptyString(),
  enforceJti: z.boolean(),
  downloadHosts: z.array(z.string()),
  /** The Bot Export API's request body, exactly as sent. */
  body: z.record(z.string(), z.unknown()),
});
export type KoreaiSpec = z.infer<typeof koreaiSpecSchema>;

/** A bot Get Bots listed (provider.ts): its stream id and name, nothing else of the listing. */
export interface DiscoveredKoreBot {
  readonly botId: string;
  readonly name?: string;
}

/**
 * The job of a target's bot: the target's own `botId`, or for a discovery
 * target the bot it found (whose name the job carries).
 * `koreai/<host>/<botId>/<exportType>/bot.zip` (DESIGN §3: one stable key per backed-up resource).
 */
export function koreaiJob(target: KoreaiTarget, discovered?: DiscoveredKoreBot): Job {
  const botId = discovered?.botId ?? target.botId;
  if (botId === undefined) throw new InvalidInputError('A Kore.ai discovery target has no job of its own: Plan lists its bots first.');
  const host = new URL(target.host).host;
  const body: Record<string, unknown> = { exportType: target.exportType };
  if (target.exportOptions) body.exportOptions = target.exportOptions;
  if (target.subTasks) body.subTasks = target.subTasks;
  if (target.allTasks !== undefined) body.allTasks = target.allTasks;
  if (target.customDashboards !== undefined) body.customDashboards = target.customDashboards;
  // The API spells this one with a capital I (REFERENCE.md).
  if (target.includeDependentTasks !== undefined) body.IncludeDependentTasks = target.includeDependentTasks;
  const spec: KoreaiSpec = {
    host: new URL(target.host).origin,
    botId,
    exportType: target.exportType,
    credentialsSecret: exportCredentials(target),
    enforceJti: target.enforceJti,
    downloadHosts: target.downloadHosts,
    body,
  };
  return {
    id: `koreai:${botId}:${target.exportType}`,
    provider: 'koreai',
    key: `koreai/${host}/${botId}/${target.exportType}/bot.zip`,
    ...(discovered?.name ? { name: discovered.name } : {}),
    spec,
  };
}

/** What a Kore.ai archive key names; undefined for a key of no Kore.ai shape. */
export function parseKoreaiKey(key: string): KeyInfo | undefined {
  const parts = key.split('/');
  const [provider, host, botId, exportType, file] = parts;
  if (provider !== 'koreai') return undefined;
  if (host && botId && exportType && file === 'bot.zip' && parts.length === 5) return { key, provider, id: `koreai:${botId}:${exportType}`, botId };
  return undefined;
}
