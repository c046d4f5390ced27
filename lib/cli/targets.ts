/**
 * How an operator names a backed-up resource on the command line, and how
 * that name is checked before anything is started or fetched.
 *
 * A resource has three names (README "S3 layout"): its job id
 * (`lex:ABCDEFGHIJ:DRAFT`), its bot id (`ABCDEFGHIJ`, which may cover several
 * resources) and its stable S3 key (`lex/us-east-1/ABCDEFGHIJ/DRAFT/bot.zip`).
 * Pure functions: the commands feed them the config and the bucket listing.
 */
import type { BotVaultConfig } from '../config/config';
import type { Home } from '../core/accounts';
import type { KeyInfo } from '../providers/definition';
import { targetJobId } from '../providers/definitions';
import { CliError } from './output';

/** The name shown for a resource: its job id where known, else its key. */
export const displayName = (info: KeyInfo) => (info.supersededBy ? info.key : (info.id ?? info.key));

/** The resources a name matches, without those a newer key supersedes when any other is left. */
const current = <T extends KeyInfo>(found: T[]): T[] => {
  const live = found.filter((i) => !i.supersededBy);
  return live.length ? live : found;
};

/** Every resource `query` names: an exact key, an exact job id, or all resources of a bot (or test set) id. */
export function matchResources<T extends KeyInfo>(query: string, infos: readonly T[]): T[] {
  const byKey = infos.filter((i) => i.key === query);
  if (byKey.length) return byKey;
  // A legacy key whose history goes on under a new key (list.ts groupResources) is not a second match.
  const byId = infos.filter((i) => i.id === query);
  if (byId.length) return current(byId);
  return current(infos.filter((i) => i.botId === query || i.testSetId === query));
}

/** The CliError for a name that matches nothing: lists what the bucket does hold. */
export function noSuchResource(query: string, infos: readonly KeyInfo[], bucket: string): CliError {
  const known = infos.map(displayName);
  return new CliError(
    `"${query}" matches no backed-up resource in s3://${bucket}; give a job id, bot id or S3 key${known.length ? ` — known: ${listSome(known)}` : ' (no archives yet: run a backup first)'}`,
  );
}

/** The one resource `query` names; unknown or ambiguous is a CliError listing what it could be. */
export function resolveResource<T extends KeyInfo>(query: string, infos: readonly T[], bucket: string): T {
  const found = matchResources(query, infos);
  if (found.length === 1) return found[0]!;
  if (found.length === 0) throw noSuchResource(query, infos, bucket);
  throw new CliError(`"${query}" matches ${found.length} resources; name one of: ${listSome(found.map(displayName))}`);
}

/** At most `max` items, then "and N more": an error stays one readable line. */
export function listSome(items: readonly string[], max = 20): string {
  return items.slice(0, max).join(', ') + (items.length > max ? `, and ${items.length - max} more` : '');
}

export interface OnlyCheck {
  /** Entries accepted only because a discovery target might find them. */
  readonly unverified: string[];
}

/**
 * Checks `--only` entries (the forms of lib/core/only.ts, which Plan applies)
 * against the config before anything is started — `run` and `local` alike —
 * so a typo fails here (exit 2, nothing started) instead of as a failed
 * execution. An entry is known when it is a static target's job id or bot id
 * (or test set id). With a discovery target in the config any other entry
 * may still match a discovered bot (by id or name): it is accepted and
 * reported as unverified, and Plan has the last word.
 */
export function checkOnly(entries: readonly string[], config: BotVaultConfig, home: Home): OnlyCheck {
  const known = new Set<string>();
  /** `<provider>:<botId>` of targets whose job ids the CLI cannot compute (providers other than Lex). */
  const idPrefixes: string[] = [];
  let discovery = false;
  for (const target of config.targets) {
    const t = target as { provider: string; discover?: boolean; botId?: string; testSetId?: string };
    if (t.discover) {
      discovery = true;
      continue;
    }
    const id = targetJobId(target, home, config.accounts);
    if (id) known.add(id);
    else if (t.botId) idPrefixes.push(`${t.provider}:${t.botId}`);
    if (t.botId) known.add(t.botId);
    if (t.testSetId) known.add(t.testSetId);
  }
  const unknown = entries.filter((e) => !known.has(e) && !idPrefixes.some((p) => e === p || e.startsWith(`${p}:`)));
  if (unknown.length && !discovery) {
    const ids = [
      ...config.targets.map((t) => targetJobId(t, home, config.accounts)).filter((id): id is string => Boolean(id)),
      ...idPrefixes.map((p) => `${p}:…`),
    ];
    throw new CliError(
      `--only ${unknown.map((u) => `"${u}"`).join(', ')}: not in the config's targets; known: ${listSome(ids)} (job id or bot id; a bot name selects only bots a discovery target finds)`,
    );
  }
  return { unverified: unknown };
}

/** The warning for entries checkOnly could not verify: `run` and `local` print the same one. */
export function unverifiedWarning(unverified: readonly string[]): string | undefined {
  if (!unverified.length) return undefined;
  const one = unverified.length === 1;
  return `${unverified.map((u) => `"${u}"`).join(', ')} ${one ? 'is' : 'are'} not a configured target; accepted because a discovery target may find ${one ? 'it' : 'them'} by id or name (the run fails in Plan, before any export, if not)`;
}

/**
 * `ABCDEFGHIJ-DRAFT-current.zip`, `ABCDEFGHIJ-3-en_US-<versionId>.zip`: the
 * job id without its provider, then the version, so two downloads of
 * different resources or versions never overwrite each other.
 */
export function defaultFileName(info: KeyInfo, versionId: string | undefined): string {
  const stem = info.id
    ? info.id.split(':').slice(1).join('-')
    : info.key
        .replace(/\.zip$/, '')
        .split('/')
        .slice(2)
        .join('-') || 'archive';
  const safe = (s: string) => s.replace(/[^A-Za-z0-9._-]/g, '_');
  return `${safe(stem)}-${safe(versionId ?? 'current')}.zip`;
}
