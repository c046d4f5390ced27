/**
 * Every provider's definition (lib/providers/definition.ts) keyed by its name,
 * and what is built from them: the target schema the config parses, the
 * restore sidecar's schema, the archive prefixes the bucket grants, and the
 * key and job-id rules the CLI resolves names with. Keyed by PROVIDER_NAMES
 * (lib/core/contracts.ts): a name without a definition, or a definition
 * without a name, does not compile.
 */
// zod/mini: bundled into the Lambdas (lib/core/schemas.ts says why).
import { createHash } from 'node:crypto';
import * as z from 'zod/mini';
import type { Account, Home } from '../core/accounts';
import { canonicalJson } from '../core/archive/canonical-json';
import { nonEmptyString, PROVIDER_NAMES, type ProviderName } from '../core/contracts';
import { describeIssue } from '../core/schemas';
import type { KeyInfo, ProviderDefinition, TargetCheckContext, TargetIssue } from './definition';
import { koreaiDefinition } from './koreai/definition';
import type { KoreaiTarget } from './koreai/target';
import { lexDefinition } from './lex/definition';
import type { LexTarget } from './lex/target';

export const DEFINITIONS = {
  lex: lexDefinition,
  koreai: koreaiDefinition,
  // Each definition parses the member of `Target` its name picks: a provider missing from `Target` does not compile either.
} satisfies { [P in ProviderName]: ProviderDefinition<Extract<Target, { provider: P }>, unknown> };

/** A config target of any provider. */
export type Target = LexTarget | KoreaiTarget;

const definitionOf = (provider: string): ProviderDefinition<Target, unknown> | undefined =>
  Object.hasOwn(DEFINITIONS, provider) ? (DEFINITIONS[provider as ProviderName] as ProviderDefinition<Target, unknown>) : undefined;

/**
 * One config target. Dispatches on `provider` by hand so that an unknown
 * provider gets one message listing the known ones, and a known one gets its
 * own field errors.
 */
export const targetSchema = z.pipe(
  z.unknown(),
  z.transform((value, ctx): Target => {
    // zod/mini's transform context has no addIssue(): issues go on its list directly.
    const addIssue = (issue: { path?: PropertyKey[]; message: string }) => ctx.issues.push({ code: 'custom', input: value, ...issue });
    if (typeof value !== 'object' || value === null || Array.isArray(value)) {
      addIssue({ message: 'must be an object such as {"provider": "lex", "botId": "ABCDEFGHIJ", "botVersion": "DRAFT"}' });
      return z.NEVER;
    }
    const provider = (value as { provider?: unknown }).provider;
    const definition = typeof provider === 'string' ? definitionOf(provider) : undefined;
    if (!definition) {
      addIssue({
        path: ['provider'],
        message: `must be one of ${PROVIDER_NAMES.map((p) => `"${p}"`).join(', ')}${provider === undefined ? '' : ` (got ${JSON.stringify(provider)})`}`,
      });
      return z.NEVER;
    }
    const parsed = definition.targetSchema.safeParse(value, { reportInput: true });
    if (!parsed.success) {
      for (const issue of parsed.error.issues) {
        const keys = issue.code === 'unrecognized_keys' ? issue.keys : [undefined];
        for (const key of keys) {
          addIssue({ path: key === undefined ? issue.path : [...issue.path, key], message: describeIssue(issue, key) });
        }
      }
      return z.NEVER;
    }
    return parsed.data;
  }),
);

/** Every provider's rules across targets (its checkTargets), with `index` into the config's `targets`. */
export function checkTargets(targets: readonly Target[], config: TargetCheckContext): TargetIssue[] {
  return PROVIDER_NAMES.flatMap((name) => {
    const check = definitionOf(name)?.checkTargets;
    const own = targets.flatMap((target, index) => (target.provider === name ? [{ index, target }] : []));
    return check && own.length ? check(own, config) : [];
  });
}

/** The first key segment of each provider's archives (`lex/`, `koreai/`): writes are granted below these only. */
export const ARCHIVE_PREFIXES = PROVIDER_NAMES.map((name) => DEFINITIONS[name].archivePrefix);

/**
 * Parses a stable archive key with its provider's rules; a key of an unknown
 * provider or shape (`<provider>/<scope>/<botId>/<variant>/…`) yields its bot
 * id only.
 */
export function keyInfo(key: string, home?: Home): KeyInfo {
  const parts = key.split('/');
  const provider = parts[0] ?? '';
  const known = definitionOf(provider);
  if (known) return known.parseKey(key, home) ?? { key, provider };
  return { key, provider, ...(parts.length >= 4 && parts[2] ? { botId: parts[2] } : {}) };
}

/** The job id a static (non-discovery) config target produces; undefined for discovery targets. */
export function targetJobId(target: Target, home: Home, accounts: readonly Account[] = []): string | undefined {
  return definitionOf(target.provider)?.jobIdOf(target, home, accounts);
}

/** What a provider's restoreInfo() returns: exactly one provider section. */
export const restoreDetailsSchema = z.object({
  lex: z.optional(lexDefinition.restoreInfoSchema),
  koreai: z.optional(koreaiDefinition.restoreInfoSchema),
} satisfies Record<ProviderName, unknown>);
export type RestoreDetails = z.infer<typeof restoreDetailsSchema>;

/**
 * The `restore-info-sha256` of a job's restore details: SHA-256 of the
 * canonical JSON (keys sorted, no whitespace) of `{ provider, target, lex?,
 * koreai? }`, the details without capturedAt, runId and archive. StoreArchive
 * stores it on the archive version and on its sidecar; a restore uses a
 * sidecar only when its details hash to the archive version's.
 */
export function restoreInfoSha256(job: { readonly id: string; readonly provider: string }, details: RestoreDetails): string {
  return createHash('sha256')
    .update(canonicalJson({ provider: job.provider, target: job.id, ...restoreDetailsSchema.parse(details) }))
    .digest('hex');
}

/**
 * The sidecar `<archive key>.restore.json` (schemaVersion 1).
 *
 * Written when a new archive version is written, and when the details changed
 * although the archive did not (UNCHANGED). Both the sidecar object and the
 * archive version carry the metadata `restore-info-sha256`: the SHA-256 (hex)
 * of the canonical JSON (keys sorted) of `{ provider, target, <provider section> }`
 * — the details without capturedAt/runId/archive, so an unchanged bot keeps
 * its hash. The sidecar for archive version V is the newest sidecar version
 * whose `archive.versionId` (or `archive.sha256`) is V's; its details are
 * those named by V's `restore-info-sha256` or newer ones captured while the
 * archive stayed unchanged. A missing sidecar means the details could not be
 * captured (the backup itself does not fail for that).
 */
export const restoreInfoSchema = z.extend(restoreDetailsSchema, {
  schemaVersion: z.literal(1),
  provider: z.enum(PROVIDER_NAMES),
  /** The job id, e.g. `lex:ABCDEFGHIJ:DRAFT`. */
  target: nonEmptyString(),
  capturedAt: nonEmptyString(),
  runId: nonEmptyString(),
  /** The archive version these details were captured with (versionId absent in an unversioned bucket). */
  archive: z.object({ key: nonEmptyString(), versionId: z.optional(z.string()), sha256: nonEmptyString() }),
});
export type RestoreInfo = z.infer<typeof restoreInfoSchema>;
