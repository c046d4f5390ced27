/**
 * The BotVault configuration file (`botvault.config.json`): its zod schema,
 * its defaults, and the one function that loads it. Shared by the CDK app
 * (synth time) and the CLI, so a bad file fails the same way everywhere.
 */
import { readFileSync } from 'node:fs';
// zod/mini, not zod: these schemas are bundled into the Lambdas too, and mini's functions (instead of
// methods) let esbuild drop what is unused: ~75 kB less per bundle (README "Performance"). A namespace
// import, so zod's 40+ unused locales are dropped as well.
import * as z from 'zod/mini';
import { en } from 'zod/locales';
import { koreaiTargetSchema, type KoreaiTarget } from './targets/koreai';
import { isHttpOrigin } from './targets/origin';
import { DEFAULT_STACK_NAME } from './names';

export const DEFAULT_CONFIG_FILE = 'botvault.config.json';

// zod/mini loads no locale: without English, its own messages (wrong types) would all read "Invalid input".
z.config(en());

/** Lex bot ids and test set ids are 10 upper-case alphanumerics. */
const LEX_ID = /^[0-9A-Z]{10}$/;
/** `DRAFT` or a numbered version. */
const LEX_BOT_VERSION = /^(DRAFT|[1-9][0-9]{0,4})$/;
/** Lex locale ids look like `en_US`, `de_DE`, `es_419`. */
const LEX_LOCALE = /^[a-z]{2}_[A-Z0-9]{2,3}$/;
/** A Secrets Manager secret name or ARN. */
const SECRET_REF = /^(arn:aws[a-z-]*:secretsmanager:[a-z0-9-]+:\d{12}:secret:[\w/+=.@-]+|[\w/+=.@-]{1,512})$/;

const secretRef = z
  .string()
  .check(z.regex(SECRET_REF, { message: 'must be a Secrets Manager secret name (e.g. "botvault/lex-password") or a secret ARN' }));

/** An http(s) origin such as `https://files.example.com` or `http://127.0.0.1:4010`. */
export const originSchema = z.string().check(
  z.refine(isHttpOrigin, {
    message: 'must be an origin like "https://host" or "http://127.0.0.1:4010" (scheme, host and optional port; no path)',
  }),
);

/**
 * A Lex V2 target. One object covers every Lex export kind so that errors
 * name the field that is wrong instead of "no union member matched":
 * - a whole bot: `botId` + `botVersion`
 * - one locale: add `localeId`
 * - a locale's custom vocabulary: add `localeId` and `customVocabulary: true`
 * - a test set: `testSetId` alone
 * - discovery: `discover: true` (+ `include` / `exclude` name patterns, `versions`)
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
    passwordSecret: z.optional(secretRef),
    discover: z.optional(z.literal(true)),
    include: z.optional(z.array(z.string().check(z.minLength(1)))),
    exclude: z.optional(z.array(z.string().check(z.minLength(1)))),
    versions: z.optional(z.enum(['DRAFT', 'latest', 'all'])),
    locales: z.optional(z.boolean()),
  })
  .check(
    z.superRefine((t, ctx) => {
      const issue = (path: string, message: string) => ctx.addIssue({ code: 'custom', path: [path], message });
      if (t.discover) {
        for (const field of ['botId', 'botVersion', 'localeId', 'customVocabulary', 'testSetId'] as const) {
          if (t[field] !== undefined)
            issue(field, `is not allowed with "discover": true (discovery finds the bots itself); remove it or remove "discover"`);
        }
        for (const [field, patterns] of [
          ['include', t.include],
          ['exclude', t.exclude],
        ] as const) {
          for (const p of patterns ?? []) {
            try {
              globToRegExp(p);
            } catch {
              issue(field, `has an invalid pattern "${p}"`);
            }
          }
        }
        return;
      }
      for (const field of ['include', 'exclude', 'versions', 'locales'] as const) {
        if (t[field] !== undefined) issue(field, `only applies with "discover": true`);
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

/**
 * Every provider's target schema, keyed by the `provider` field. A new
 * provider adds one entry here (and one in the Lambdas' provider registry).
 */
export const targetSchemas = {
  lex: lexTargetSchema,
  koreai: koreaiTargetSchema,
} as const;

export type ProviderName = keyof typeof targetSchemas;
export const PROVIDERS = Object.keys(targetSchemas) as ProviderName[];

/**
 * Dispatches on `provider` by hand so that an unknown provider gets one
 * message listing the known ones, and a known one gets its own field errors.
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
    if (typeof provider !== 'string' || !(provider in targetSchemas)) {
      addIssue({
        path: ['provider'],
        message: `must be one of ${PROVIDERS.map((p) => `"${p}"`).join(', ')}${provider === undefined ? '' : ` (got ${JSON.stringify(provider)})`}`,
      });
      return z.NEVER;
    }
    const parsed = targetSchemas[provider as ProviderName].safeParse(value, { reportInput: true });
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

export type Target = LexTarget | KoreaiTarget;
export type { KoreaiTarget };

/** EventBridge Scheduler cron: `cron(minutes hours day-of-month month day-of-week year)`. */
const CRON_FIELD = /^[0-9A-Za-z*?,\-/#L W]+$/;
export const cronSchema = z.string().check(
  z.refine(
    (value) => {
      const m = /^cron\((.*)\)$/.exec(value.trim());
      if (!m) return false;
      const fields = m[1]!.trim().split(/\s+/);
      if (fields.length !== 6 || !fields.every((f) => CRON_FIELD.test(f))) return false;
      // Scheduler requires "?" in exactly one of day-of-month / day-of-week.
      return (fields[2] === '?') !== (fields[4] === '?');
    },
    {
      message:
        'must be an EventBridge Scheduler cron expression with 6 fields and "?" in day-of-month or day-of-week, e.g. "cron(0 3 * * ? *)" for 03:00 every day',
    },
  ),
);

export const timezoneSchema = z.string().check(
  z.refine(
    (tz) => {
      try {
        new Intl.DateTimeFormat('en-US', { timeZone: tz });
        return true;
      } catch {
        return false;
      }
    },
    { message: 'must be an IANA time zone such as "UTC" or "Europe/Berlin"' },
  ),
);

/**
 * A whole number from `min` to `max`. `messages` replace zod's own: `type` for
 * anything that is not a whole number, `min` and `max` for one out of range.
 */
const wholeNumber = (min: number, max: number, messages: { type?: string; min?: string; max?: string } = {}) =>
  z.int({ message: messages.type }).check(z.minimum(min, { message: messages.min }), z.maximum(max, { message: messages.max }));

export const pollingSchema = z
  .strictObject({
    /** Seconds to wait before the first status check. */
    firstWaitSeconds: z._default(wholeNumber(1, 3600), 10),
    /** Each following wait is the previous one times this factor. */
    backoffFactor: z._default(z.number().check(z.minimum(1), z.maximum(10)), 2),
    /** No single wait is longer than this. */
    maxWaitSeconds: z._default(wholeNumber(1, 3600), 60),
    /** Total seconds of waiting before a job that is still in progress is failed as timed out. */
    budgetSeconds: z._default(wholeNumber(10, 86_400), 1800),
  })
  .check(
    z.refine((p) => p.maxWaitSeconds >= p.firstWaitSeconds, {
      path: ['maxWaitSeconds'],
      message: 'must be at least polling.firstWaitSeconds',
    }),
  );

export type PollingConfig = z.infer<typeof pollingSchema>;

export const configSchema = z
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
          'must be "inline" (one Map in the execution, for up to about a thousand jobs) or "distributed" (a Distributed Map of child executions, for thousands of jobs)',
      }),
      'inline',
    ),
    polling: z.prefault(pollingSchema, {}),
    retention: z.prefault(
      z
        .strictObject({
          /** Days after which a version that is no longer current moves to Glacier Instant Retrieval (omit to keep it in Standard). */
          noncurrentTransitionDays: z.optional(z.int().check(z.minimum(30))),
          /** Days after which a version that is no longer current is deleted (omit to keep history forever). */
          noncurrentExpirationDays: z._default(z.optional(z.int().check(z.minimum(1))), 365),
          /** Newest non-current versions to keep regardless of age. */
          noncurrentVersionsToKeep: z.optional(wholeNumber(1, 100)),
        })
        .check(
          z.refine(
            (r) =>
              r.noncurrentTransitionDays === undefined ||
              r.noncurrentExpirationDays === undefined ||
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
    targets: z.array(targetSchema).check(z.minLength(1, { message: 'must list at least one target to back up' })),
  })
  .check(z.superRefine(checkKoreaiTargets));

/**
 * Rules that span fields: a Kore.ai host may be plain http only when the
 * operator allowlisted it (a local simulator), and one bot may be exported
 * once per run, because Kore.ai's status API reports only a bot's latest
 * export: two exports of one bot at once would each lose track of theirs.
 */
function checkKoreaiTargets(config: { downloadAllowlist: string[]; targets: Target[] }, ctx: z.core.$RefinementCtx): void {
  const seen = new Map<string, number>();
  config.targets.forEach((t, i) => {
    if (t.provider !== 'koreai') return;
    const origin = new URL(t.host).origin;
    if (origin.startsWith('http:') && !config.downloadAllowlist.includes(origin)) {
      ctx.addIssue({
        code: 'custom',
        path: ['targets', i, 'host'],
        message: `must be https (the JWT travels with every call); plain http is accepted only for a local simulator whose origin ${origin} is also listed in downloadAllowlist`,
      });
    }
    const bot = `${origin} ${t.botId}`;
    const first = seen.get(bot);
    if (first === undefined) seen.set(bot, i);
    else {
      ctx.addIssue({
        code: 'custom',
        path: ['targets', i, 'botId'],
        message: `bot ${t.botId} is already backed up by targets[${first}]: Kore.ai reports only a bot's latest export, so one run can export a bot once (choose one exportType)`,
      });
    }
  });
}

export type BotVaultConfig = z.infer<typeof configSchema>;

export class ConfigError extends Error {
  override readonly name = 'ConfigError';
  constructor(
    message: string,
    readonly issues: readonly { path: string; message: string }[] = [],
  ) {
    super(message);
  }
}

/** `targets[2].botId` from a zod path. */
export function formatPath(path: readonly PropertyKey[]): string {
  return path.reduce<string>((acc, part) => (typeof part === 'number' ? `${acc}[${part}]` : acc ? `${acc}.${String(part)}` : String(part)), '');
}

function describeIssue(issue: z.core.$ZodIssue, key?: string): string {
  if (issue.code === 'unrecognized_keys') {
    return `unknown field "${key ?? issue.keys.join('", "')}": remove it or check the spelling (see "Configuration" in README.md)`;
  }
  if (issue.code === 'invalid_type' && issue.input === undefined) return 'is required';
  return issue.message;
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

/** `*` matches any run of characters, `?` one; everything else is literal. Case-insensitive. */
export function globToRegExp(glob: string): RegExp {
  const body = glob
    .replace(/[.+^${}()|[\]\\]/g, '\\$&')
    .replace(/\*/g, '.*')
    .replace(/\?/g, '.');
  return new RegExp(`^${body}$`, 'i');
}
