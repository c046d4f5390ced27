/**
 * The zod building blocks every layer's schemas share: secret references,
 * origins, cron and time zone, polling, whole numbers, glob patterns and the
 * one way a zod path is printed. The config (lib/config/config.ts), the
 * providers' target schemas (lib/providers/<name>/target.ts) and the workflow
 * contracts (contracts.ts) are built from them, so a field means the same
 * thing and fails with the same words everywhere.
 */
// zod/mini, not zod: these schemas are bundled into the Lambdas too, and mini's functions (instead of
// methods) let esbuild drop what is unused: ~75 kB less per bundle (README "Performance"). A namespace
// import, so zod's 40+ unused locales are dropped as well.
import * as z from 'zod/mini';
import { en } from 'zod/locales';

// zod/mini loads no locale: without English, its own messages (wrong types) would all read "Invalid input".
z.config(en());

/** A Secrets Manager secret name or ARN. */
const SECRET_REF = /^(arn:aws[a-z-]*:secretsmanager:[a-z0-9-]+:\d{12}:secret:[\w/+=.@-]+|[\w/+=.@-]{1,512})$/;

/** A Secrets Manager secret name or ARN; `message` says what the secret must hold. */
export const secretRefSchema = (message: string) => z.string().check(z.regex(SECRET_REF, { message }));

/** True for an http(s) origin: scheme, host and optional port, no path (a trailing `/` is tolerated). */
export function isHttpOrigin(value: string): boolean {
  try {
    const url = new URL(value);
    return (url.protocol === 'https:' || url.protocol === 'http:') && url.origin === value.replace(/\/$/, '');
  } catch {
    return false;
  }
}

/** An http(s) origin such as `https://files.example.com` or `http://127.0.0.1:4010`. */
export const originSchema = z.string().check(
  z.refine(isHttpOrigin, {
    message: 'must be an origin like "https://host" or "http://127.0.0.1:4010" (scheme, host and optional port; no path)',
  }),
);

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
export const wholeNumber = (min: number, max: number, messages: { type?: string; min?: string; max?: string } = {}) =>
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

/** `targets[2].botId` from a zod path. */
export function formatPath(path: readonly PropertyKey[]): string {
  return path.reduce<string>((acc, part) => (typeof part === 'number' ? `${acc}[${part}]` : acc ? `${acc}.${String(part)}` : String(part)), '');
}

/** One zod issue in the words BotVault shows an operator (`key`: the one unknown field of an unrecognized_keys issue). */
export function describeIssue(issue: z.core.$ZodIssue, key?: string): string {
  if (issue.code === 'unrecognized_keys') {
    return `unknown field "${key ?? issue.keys.join('", "')}": remove it or check the spelling (see "Configuration" in README.md)`;
  }
  if (issue.code === 'invalid_type' && issue.input === undefined) return 'is required';
  return issue.message;
}

/** `*` matches any run of characters, `?` one; everything else is literal. Case-insensitive. */
export function globToRegExp(glob: string): RegExp {
  const body = glob
    .replace(/[.+^${}()|[\]\\]/g, '\\$&')
    .replace(/\*/g, '.*')
    .replace(/\?/g, '.');
  return new RegExp(`^${body}$`, 'i');
}
