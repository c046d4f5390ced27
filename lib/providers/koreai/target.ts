/**
 * Kore.ai target: one bot exported through the public Bot Export API
 * (`POST /api/public/bot/{botId}/export`) with a JWT signed by the app's
 * client secret, which lives in Secrets Manager.
 */
// zod/mini: bundled into the Lambdas (lib/core/schemas.ts says why).
import { isIP } from 'node:net';
import * as z from 'zod/mini';
import { isHttpOrigin, secretRefSchema } from '../../core/schemas';
import type { TargetCheckContext, TargetIssue } from '../definition';

/** Documented values of the Bot Export API's `exportOptions` lists. */
const KOREAI_EXPORT_OPTIONS = {
  settings: ['botSettings', 'botVariables', 'ivrSettings', 'genAIandLLMSettings'],
  tasks: ['botTask', 'knowledgeGraph', 'smallTalk'],
  nlpData: ['utterances', 'patterns', 'traits', 'rules', 'concepts', 'synonyms', 'standardResponses', 'nlpSettings'],
} as const;

/** Kore.ai bot ids are stream ids: `st-` followed by a UUID. */
export const KOREAI_BOT_ID = /^st-[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
/**
 * Names that never leave the local network (RFC 6761 `localhost`, RFC 6762
 * `.local`, RFC 8375 `.home.arpa`, and `.internal`, reserved for private use
 * by ICANN in 2024), or a bare single label (resolved through local search
 * domains): refused as a Kore.ai host unless allowlisted.
 */
const SPECIAL_USE_NAME = /^(localhost|[^.]+)$|\.(localhost|local|home\.arpa|internal)$/i;
/** A host name or `*.suffix` pattern. */
const HOST_PATTERN = /^(\*\.)?[a-z0-9]([a-z0-9-]*[a-z0-9])?(\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)*(:\d{1,5})?$/;

const optionList = <T extends readonly [string, ...string[]]>(values: T) =>
  z.optional(z.array(z.enum(values, { message: `must be one of ${values.map((v) => `"${v}"`).join(', ')}` })).check(z.minLength(1)));

/**
 * `https://bots.kore.ai` or an on-premises `https://kore.example.com` (no
 * path). Plain http passes here only so that the config-level check can say
 * the precise thing: it is allowed just for origins in `downloadAllowlist`.
 */
const hostUrl = z.string().check(
  z.refine(isHttpOrigin, {
    message: 'must be an https URL with no path, e.g. "https://bots.kore.ai" or your on-premises host',
  }),
);

export const koreaiTargetSchema = z.strictObject({
  provider: z.literal('koreai'),
  host: hostUrl,
  botId: z.string().check(
    z.regex(KOREAI_BOT_ID, {
      message: 'must be the bot\'s stream id, e.g. "st-1a2b3c4d-0000-1111-2222-333344445555" (General Settings in the Bot Builder)',
    }),
  ),
  credentialsSecret: secretRefSchema('must be a Secrets Manager secret name or ARN holding {"clientId": "...", "clientSecret": "..."}'),
  exportType: z._default(z.enum(['published', 'latest'], { message: 'must be "published" or "latest"' }), 'published'),
  exportOptions: z.optional(
    z.strictObject({
      settings: optionList(KOREAI_EXPORT_OPTIONS.settings),
      tasks: optionList(KOREAI_EXPORT_OPTIONS.tasks),
      nlpData: optionList(KOREAI_EXPORT_OPTIONS.nlpData),
    }),
  ),
  subTasks: z.optional(
    z.strictObject({
      dialogs: z.optional(z.array(z.string().check(z.minLength(1)))),
      alerts: z.optional(z.array(z.string().check(z.minLength(1)))),
      actions: z.optional(z.array(z.string().check(z.minLength(1)))),
    }),
  ),
  allTasks: z.optional(z.boolean()),
  customDashboards: z.optional(z.boolean()),
  includeDependentTasks: z.optional(z.boolean()),
  /** Set when the Kore.ai app enforces JTI: every JWT then carries a unique `jti`. */
  enforceJti: z._default(z.boolean(), false),
  /** Hosts besides `host` that may serve the export's downloadURL (exact names or `*.suffix`). */
  downloadHosts: z._default(
    z.array(z.string().check(z.regex(HOST_PATTERN, { message: 'must be a host name such as "files.kore.example.com" or "*.example.com"' }))),
    [],
  ),
});

export type KoreaiTarget = z.infer<typeof koreaiTargetSchema>;

/**
 * Rules that span targets: a Kore.ai host may be plain http only when the
 * operator allowlisted it (a local simulator), and one bot may be exported
 * once per run, because Kore.ai's status API reports only a bot's latest
 * export: two exports of one bot at once would each lose track of theirs.
 */
export function checkKoreaiTargets(targets: readonly { index: number; target: KoreaiTarget }[], config: TargetCheckContext): TargetIssue[] {
  const issues: TargetIssue[] = [];
  const seen = new Map<string, number>();
  for (const { index, target: t } of targets) {
    const origin = new URL(t.host).origin;
    if (origin.startsWith('http:') && !config.downloadAllowlist.includes(origin)) {
      issues.push({
        index,
        field: 'host',
        message: `must be https (the JWT travels with every call); plain http is accepted only for a local simulator whose origin ${origin} is also listed in downloadAllowlist`,
      });
    }
    const hostname = new URL(t.host).hostname.replace(/^\[|\]$/g, '');
    const allowlisted = config.downloadAllowlist.includes(origin);
    if (!allowlisted && (isIP(hostname) || SPECIAL_USE_NAME.test(hostname))) {
      issues.push({
        index,
        field: 'host',
        message: `must be the Kore.ai host's public name, not ${isIP(hostname) ? 'an IP address' : 'a local-only name'} (${hostname}): the JWT travels with every call; an internal host is accepted only when its origin ${origin} is also listed in downloadAllowlist`,
      });
    }
    for (const pattern of t.downloadHosts ?? []) {
      const name = pattern.replace(/:\d+$/, '');
      const base = name.slice(2).toLowerCase();
      if (name.startsWith('*.') && (base.split('.').length < 2 || config.isPublicSuffix?.(base))) {
        issues.push({
          index,
          field: 'downloadHosts',
          message: `"${pattern}" matches every host under .${base}${base.includes('.') ? ', a public suffix (anyone can register a name there)' : ''}: a wildcard needs at least two labels below a public suffix (e.g. "*.files.example.com", "*.example.com" or "*.example.co.uk")`,
        });
      } else if (isIP(name) || SPECIAL_USE_NAME.test(name.replace(/^\*\./, ''))) {
        issues.push({ index, field: 'downloadHosts', message: `"${pattern}" is not a public host name (an IP address or a local-only name)` });
      }
    }
    const bot = `${origin} ${t.botId}`;
    const first = seen.get(bot);
    if (first === undefined) seen.set(bot, index);
    else {
      issues.push({
        index,
        field: 'botId',
        message: `bot ${t.botId} is already backed up by targets[${first}]: Kore.ai reports only a bot's latest export, so one run can export a bot once (choose one exportType)`,
      });
    }
  }
  return issues;
}
