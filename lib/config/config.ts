/**
 * The BotVault configuration file (`botvault.config.json`): its zod schema,
 * its defaults, and the one function that loads it. Shared by the CDK app
 * (synth time) and the CLI, so a bad file fails the same way everywhere.
 *
 * It sits above the providers: the file is BotVault's own settings plus a
 * list of targets, each parsed (and cross-checked) by its provider's
 * definition (lib/providers/definitions.ts).
 */
import { readFileSync } from 'node:fs';
// zod/mini: the Plan Lambda parses targets with the same schemas (lib/core/schemas.ts says why).
import { getPublicSuffix } from 'tldts';
import * as z from 'zod/mini';
import { accountsSchema, HOME_ACCOUNT, roleAccount } from '../core/accounts';
import { DEFAULT_ARCHIVE_LIMITS } from '../core/archive/limits';
import { MAX_ARCHIVE_MIB_LIMIT } from '../core/env';
import { DEFAULT_STACK_NAME } from '../core/names';
import { cronSchema, describeIssue, formatPath, originSchema, pollingSchema, secretRefSchema, timezoneSchema, wholeNumber } from '../core/schemas';
import { checkTargets, targetJobId, targetSchema } from '../providers/definitions';

/** A name the Public Suffix List (ICANN and private sections, via tldts) lists: `com`, `co.uk`, `s3.amazonaws.com`. */
const isPublicSuffix = (name: string) => getPublicSuffix(name, { allowPrivateDomains: true }) === name;

export const DEFAULT_CONFIG_FILE = 'botvault.config.json';

const EXPIRATION_MESSAGE = 'must be a whole number of days from 1 to 36500, or "never" to keep every version forever';

const configSchema = z
  .strictObject({
    /** Optional name for the CloudFormation stack (default "BotVault"). */
    stackName: z._default(
      z
        .string()
        .check(z.regex(/^[A-Za-z][A-Za-z0-9-]{0,127}$/, { message: 'must start with a letter and contain only letters, digits and hyphens' })),
      DEFAULT_STACK_NAME,
    ),
    schedule: z.prefault(
      z.strictObject({
        cron: z._default(cronSchema, 'cron(0 3 * * ? *)'),
        timezone: z._default(timezoneSchema, 'UTC'),
        enabled: z._default(z.boolean(), true),
      }),
      {},
    ),
    maxConcurrency: z._default(
      wholeNumber(1, 40, {
        type: 'must be a whole number from 1 to 40',
        min: 'must be at least 1 (jobs run one at a time with 1)',
        max: 'must be at most 40 (the inline Map limit)',
      }),
      5,
    ),
    /**
     * How the job graph runs: "inline" (one Map inside the execution; its events count toward the
     * execution's 25,000-event history) or "distributed" (a Distributed Map: each job is a child
     * Standard execution with its own history). README "Performance" says when to switch.
     */
    mapMode: z._default(
      z.enum(['inline', 'distributed'], {
        message:
          'must be "inline" (one Map in the execution: its 25,000-event history holds about 390 jobs that need five polls) or "distributed" (a Distributed Map: each job a child execution with its own history); in both modes about 440-600 bots fit one run\'s 256 KiB state (README "Scaling")',
      }),
      'inline',
    ),
    polling: z.prefault(pollingSchema, {}),
    retention: z.prefault(
      z
        .strictObject({
          /**
           * Days after which a version that is no longer current moves to Glacier Instant Retrieval (omit to keep
           * it in Standard). S3 takes any day count for GLACIER_IR (only STANDARD_IA and ONEZONE_IA need more than
           * 30: S3 API reference, Transition.Days); Glacier IR bills at least 90 days of storage per version.
           */
          noncurrentTransitionDays: z.optional(
            wholeNumber(1, 36500, { type: 'must be a whole number of days from 1 to 36500', min: 'must be at least 1 day' }),
          ),
          /** Days after which a version that is no longer current is deleted, or "never": every version is kept forever. */
          noncurrentExpirationDays: z._default(
            z.union([z.literal('never'), wholeNumber(1, 36500, { type: EXPIRATION_MESSAGE, min: EXPIRATION_MESSAGE, max: EXPIRATION_MESSAGE })], {
              message: EXPIRATION_MESSAGE,
            }),
            365,
          ),
          /** Newest non-current versions to keep regardless of age. */
          noncurrentVersionsToKeep: z.optional(wholeNumber(1, 100)),
        })
        .check(
          z.refine(
            (r) =>
              r.noncurrentTransitionDays === undefined ||
              r.noncurrentExpirationDays === 'never' ||
              r.noncurrentExpirationDays > r.noncurrentTransitionDays,
            { path: ['noncurrentExpirationDays'], message: 'must be greater than retention.noncurrentTransitionDays' },
          ),
        ),
      {},
    ),
    /** Extra download origins (for local simulators); production providers need none. */
    downloadAllowlist: z._default(z.array(originSchema), []),
    /**
     * "skipUnchanged": an export whose entries (names and contents; not zip timestamps or entry
     * order) equal the current archive's writes no new version and the job reports UNCHANGED, so
     * every S3 version is a real change. "always": every run writes a new version.
     */
    changeDetection: z._default(
      z.enum(['skipUnchanged', 'always'], {
        message: 'must be "skipUnchanged" (no new version when the bot did not change) or "always" (a new version every run)',
      }),
      'skipUnchanged',
    ),
    /**
     * The largest archive StoreArchive accepts, in MiB; a larger download fails its job. It also
     * sizes StoreArchive's ephemeral storage (archives above 64 MiB are spooled there while checked).
     */
    maxArchiveMiB: z._default(
      wholeNumber(1, MAX_ARCHIVE_MIB_LIMIT, {
        type: `must be a whole number of MiB from 1 to ${MAX_ARCHIVE_MIB_LIMIT}`,
        min: 'must be at least 1',
        max: `must be at most ${MAX_ARCHIVE_MIB_LIMIT} (Lambda's 10,240 MB of ephemeral storage, less room for the runtime)`,
      }),
      1024,
    ),
    /**
     * What one archive may unpack to (lib/core/archive/limits.ts): StoreArchive, the restore drill
     * and the CLI refuse a larger one before inflating it.
     */
    archiveLimits: z.prefault(
      z.strictObject({
        maxEntries: z._default(
          wholeNumber(1, 1_000_000, { type: 'must be a whole number from 1 to 1000000', min: 'must be at least 1', max: 'must be at most 1000000' }),
          DEFAULT_ARCHIVE_LIMITS.maxEntries,
        ),
        maxUncompressedMiB: z._default(
          wholeNumber(1, 1_048_576, { type: 'must be a whole number of MiB', min: 'must be at least 1', max: 'must be at most 1048576 (1 TiB)' }),
          DEFAULT_ARCHIVE_LIMITS.maxUncompressedBytes / 1024 / 1024,
        ),
        maxCompressionRatio: z._default(
          wholeNumber(2, 10_000, { type: 'must be a whole number from 2 to 10000', min: 'must be at least 2', max: 'must be at most 10000' }),
          DEFAULT_ARCHIVE_LIMITS.maxCompressionRatio,
        ),
      }),
      {},
    ),
    /** Days to keep Lambda and Step Functions logs. */
    logRetentionDays: z._default(
      z.union(
        [
          z.literal(1),
          z.literal(3),
          z.literal(5),
          z.literal(7),
          z.literal(14),
          z.literal(30),
          z.literal(60),
          z.literal(90),
          z.literal(180),
          z.literal(365),
        ],
        {
          message: 'must be one of 1, 3, 5, 7, 14, 30, 60, 90, 180, 365',
        },
      ),
      90,
    ),
    /** Where alarms and failed-run messages go (an SNS topic is always deployed; the email subscription is optional). */
    notifications: z.prefault(
      z.strictObject({
        /** Subscribed to the alarm topic; AWS sends a confirmation mail first. */
        email: z.optional(z.email({ message: 'must be an email address such as "ops@example.com"' })),
        /** Hours without a successful run before the NoSuccessfulRun alarm fires (longer than the longest gap between scheduled runs). */
        noSuccessHours: z._default(
          wholeNumber(2, 168, {
            type: 'must be a whole number of hours from 2 to 168',
            min: 'must be at least 2',
            max: 'must be at most 168 (CloudWatch evaluates at most 7 days)',
          }),
          26,
        ),
        /** Each run with changed bots notifies the topic ("2 of 7 bots changed: …"), and a failed run's message names them; false: neither. */
        changes: z._default(z.boolean({ message: 'must be true (notify what changed in each run) or false' }), true),
      }),
      {},
    ),
    /** S3 Object Lock default retention for every new object version in the archive bucket (omit for none). */
    objectLock: z.optional(
      z.strictObject({
        mode: z.enum(['GOVERNANCE', 'COMPLIANCE'], {
          message: 'must be "GOVERNANCE" (privileged users may shorten it) or "COMPLIANCE" (nobody can, not even root)',
        }),
        days: wholeNumber(1, 36_500, {
          type: 'must be a whole number of days from 1 to 36500',
          min: 'must be at least 1',
          max: 'must be at most 36500 (100 years)',
        }),
      }),
    ),
    /** A scheduled check that every archive's latest version could be restored (sha256 and every zip entry read back). */
    restoreDrill: z.prefault(
      z.strictObject({
        enabled: z._default(z.boolean(), false),
        /** EventBridge Scheduler cron, six fields. */
        cron: z._default(cronSchema, 'cron(0 6 ? * SUN *)'),
        timezone: z._default(timezoneSchema, 'UTC'),
      }),
      {},
    ),
    /**
     * Proof of restore (README "Proving restores"): on its own schedule, a Lambda imports a few stored
     * archives into scratch bots, builds them, exports them again and compares; off by default.
     */
    deepDrill: z.prefault(
      z.strictObject({
        enabled: z._default(z.boolean({ message: 'must be true (run the deep drill on its schedule) or false' }), false),
        /** EventBridge Scheduler cron, six fields. */
        cron: z._default(cronSchema, 'cron(0 7 ? * SUN *)'),
        timezone: z._default(timezoneSchema, 'UTC'),
        /** N archives chosen at random each run (default 2 when `targets` is not given). */
        sample: z.optional(
          wholeNumber(1, 20, {
            type: 'must be a whole number of archives from 1 to 20',
            min: 'must be at least 1',
            max: 'must be at most 20 (one 15-minute run imports, builds and exports each; use targets or several schedules for more)',
          }),
        ),
        /** These archives every run: job ids, bot ids or bot names, as `botvault run --only` takes them. */
        targets: z.optional(
          z
            .array(z.string().check(z.minLength(1, { message: 'must be a job id, a bot id or a bot name' })))
            .check(
              z.minLength(1, { message: 'must name at least one archive (or leave it out and use sample)' }),
              z.maxLength(20, { message: 'must name at most 20 archives (one 15-minute run)' }),
            ),
        ),
        /** Archives drilled at once (Lex builds at most 5 locales at once per account: the drill waits for a slot). */
        concurrency: z._default(
          wholeNumber(1, 5, { type: 'must be a whole number from 1 to 5', min: 'must be at least 1', max: 'must be at most 5' }),
          2,
        ),
        /** Seconds between two polls of an import, a build or an export. */
        pollSeconds: z._default(
          wholeNumber(1, 60, { type: 'must be a whole number of seconds from 1 to 60', min: 'must be at least 1', max: 'must be at most 60' }),
          10,
        ),
        /** The IAM role Lex V2 scratch bots run under (StartImport roleArn); the drill may pass this role, and only this one, to Lex. */
        lexBotRoleArn: z.optional(
          z.string().check(
            z.regex(/^arn:aws[a-z-]*:iam::\d{12}:role\/(?:[\w+=,.@-]+\/)*[\w+=,.@-]{1,64}$/, {
              message:
                'must be an IAM role ARN such as "arn:aws:iam::123456789012:role/BotVaultDrillBot" (the scratch bots\' role, trusted by lexv2.amazonaws.com)',
            }),
          ),
        ),
        /** Kore.ai: an Admin Console app with Bot Definition > Bot Import and Bot Export, which imports and exports the scratch bots. */
        koreaiCredentialsSecret: z.optional(
          secretRefSchema(
            'must be a Secrets Manager secret name or ARN holding {"clientId", "clientSecret"} of an Admin Console app with the scopes Bot Definition > Bot Import and Bot Export',
          ),
        ),
      }),
      {},
    ),
    /**
     * Member accounts: other AWS accounts whose Lex bots this stack backs up, each through the role
     * its functions assume there (README "Many accounts and regions"). Targets name them by id or name.
     */
    accounts: z._default(accountsSchema, []),
    targets: z.array(targetSchema).check(z.minLength(1, { message: 'must list at least one target to back up' })),
  })
  .check(
    z.superRefine((config, ctx) => {
      const seen = new Map<string, number>();
      config.accounts.forEach((account, index) => {
        const issue = (field: string, message: string) => ctx.addIssue({ code: 'custom', path: ['accounts', index, field], message });
        const inRole = roleAccount(account.roleArn);
        if (inRole !== account.id)
          issue('roleArn', `names account ${inRole}, not this entry's id ${account.id}: the role must be in the member account`);
        for (const [field, value] of [
          ['id', account.id],
          ['name', account.name],
        ] as const) {
          if (value === undefined) continue;
          if (value === HOME_ACCOUNT) issue(field, `"${HOME_ACCOUNT}" means the stack's own account; give this one another name`);
          const first = seen.get(value);
          if (first !== undefined) issue(field, `"${value}" is already used by accounts[${first}]`);
          else seen.set(value, index);
        }
      });
      for (const issue of checkTargets(config.targets, {
        downloadAllowlist: config.downloadAllowlist,
        isPublicSuffix,
        accounts: config.accounts,
      })) {
        ctx.addIssue({ code: 'custom', path: ['targets', issue.index, issue.field], message: issue.message });
      }
      for (const issue of deepDrillIssues(config)) ctx.addIssue({ code: 'custom', path: ['deepDrill', ...issue.path], message: issue.message });
      if (config.archiveLimits.maxUncompressedMiB < config.maxArchiveMiB) {
        ctx.addIssue({
          code: 'custom',
          path: ['archiveLimits', 'maxUncompressedMiB'],
          message: `must be at least maxArchiveMiB (${config.maxArchiveMiB}): an archive unpacks to at least its own size`,
        });
      }
    }),
  );

export type BotVaultConfig = z.infer<typeof configSchema>;

/**
 * The deep drill's rules across the config (only when it is enabled): `sample` or `targets`, not both;
 * every `targets` entry selects a configured target (a name only a discovery target could find is
 * accepted when one exists); and each provider whose archives it may drill has what that needs —
 * Lex the scratch bots' role, Kore.ai an Admin Console app (a bot's own app cannot create bots).
 */
function deepDrillIssues(config: z.infer<typeof configSchema>): { path: PropertyKey[]; message: string }[] {
  const d = config.deepDrill;
  if (!d.enabled) return [];
  const issues: { path: PropertyKey[]; message: string }[] = [];
  if (d.sample !== undefined && d.targets !== undefined)
    issues.push({
      path: ['targets'],
      message: 'cannot be given with deepDrill.sample: give sample (N archives at random each run) or targets (these archives every run), not both',
    });
  const home = { region: 'home' };
  const selects = (entry: string) =>
    config.targets.filter((t) => targetJobId(t, home, config.accounts) === entry || t.botId === entry || ('testSetId' in t && t.testSetId === entry));
  const discovery = config.targets.filter((t) => t.discover);
  let drilled = config.targets;
  if (d.targets) {
    const hit: typeof config.targets = [];
    d.targets.forEach((entry, i) => {
      const found = selects(entry);
      // A job id of a Lex target in another account or region names it; a bot name can only be matched at run time.
      if (found.length) hit.push(...found);
      else if (discovery.length) hit.push(...discovery);
      else
        issues.push({
          path: ['targets', i],
          message: `"${entry}" selects none of the config's targets: give a job id (e.g. "lex:ABCDEFGHIJ:DRAFT"), a bot id, or the name of a bot a discovery target finds`,
        });
    });
    drilled = hit;
  }
  if (drilled.some((t) => t.provider === 'lex') && d.lexBotRoleArn === undefined)
    issues.push({
      path: ['lexBotRoleArn'],
      message:
        'is required to drill Lex archives: the IAM role the scratch bots run under (trusted by lexv2.amazonaws.com), the only role the drill may pass to Lex',
    });
  if (drilled.some((t) => t.provider === 'koreai') && d.koreaiCredentialsSecret === undefined)
    issues.push({
      path: ['koreaiCredentialsSecret'],
      message:
        "is required to drill Kore.ai archives: the Secrets Manager secret of an Admin Console app with Bot Definition > Bot Import and Bot Export (a bot's own app cannot create the scratch bot)",
    });
  return issues;
}

export class ConfigError extends Error {
  override readonly name = 'ConfigError';
  constructor(
    message: string,
    readonly issues: readonly { path: string; message: string }[] = [],
  ) {
    super(message);
  }
}

/** Validates a parsed config object; throws one ConfigError naming every bad field. */
export function parseConfig(raw: unknown, source = DEFAULT_CONFIG_FILE): BotVaultConfig {
  // reportInput: describeIssue tells a missing field (no input) from one of the wrong type.
  const parsed = configSchema.safeParse(raw, { reportInput: true });
  if (parsed.success) return parsed.data;
  const issues = parsed.error.issues.flatMap((issue) =>
    (issue.code === 'unrecognized_keys' ? issue.keys : [undefined]).map((key) => ({
      path: formatPath(key === undefined ? issue.path : [...issue.path, key]) || '(top level)',
      message: describeIssue(issue, key),
    })),
  );
  const lines = issues.map((i) => `  ${i.path}: ${i.message}`);
  throw new ConfigError(`Invalid BotVault config in ${source}:\n${lines.join('\n')}`, issues);
}

/** Reads and validates a config file. */
export function loadConfig(file = DEFAULT_CONFIG_FILE): BotVaultConfig {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw new ConfigError(
      `Cannot read BotVault config ${file}: ${(err as NodeJS.ErrnoException).code ?? String(err)}. Create it (see "Configuration" in README.md) or pass another file.`,
    );
  }
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (err) {
    throw new ConfigError(`BotVault config ${file} is not valid JSON: ${(err as Error).message}`);
  }
  return parseConfig(raw, file);
}
