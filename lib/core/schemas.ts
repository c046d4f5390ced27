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

/**
 * EventBridge Scheduler cron: `cron(minutes hours day-of-month month day-of-week year)`,
 * each field within its range (EventBridge Scheduler User Guide, "Cron-based
 * schedules"): minutes 0-59, hours 0-23, day-of-month 1-31 (also `L`, `W`),
 * month 1-12 or JAN-DEC, day-of-week 1-7 or SUN-SAT (also `L`, `#`), year
 * 1970-2199; `*`, `,`, `-` and `/` in every field, `?` in exactly one of
 * day-of-month and day-of-week.
 */
const CRON_FIELDS = [
  { name: 'minutes', min: 0, max: 59 },
  { name: 'hours', min: 0, max: 23 },
  { name: 'day-of-month', min: 1, max: 31 },
  { name: 'month', min: 1, max: 12, names: ['JAN', 'FEB', 'MAR', 'APR', 'MAY', 'JUN', 'JUL', 'AUG', 'SEP', 'OCT', 'NOV', 'DEC'] },
  { name: 'day-of-week', min: 1, max: 7, names: ['SUN', 'MON', 'TUE', 'WED', 'THU', 'FRI', 'SAT'] },
  { name: 'year', min: 1970, max: 2199 },
] as const;

/** Why one cron field is not valid, or undefined. */
function cronFieldProblem(value: string, index: number): string | undefined {
  const field = CRON_FIELDS[index]!;
  const names = 'names' in field ? (field.names as readonly string[]) : [];
  const range = `${field.min}-${field.max}${names.length ? ` or ${names[0]}-${names[names.length - 1]}` : ''}`;
  const bad = `its ${field.name} field "${value}" is not valid (${range})`;
  if (value === '?') return index === 2 || index === 4 ? undefined : `its ${field.name} field cannot be "?"`;
  const number = (t: string): boolean => {
    const upper = t.toUpperCase();
    if (names.includes(upper)) return true;
    if (!/^\d{1,4}$/.test(t)) return false;
    const n = Number(t);
    return n >= field.min && n <= field.max;
  };
  for (const item of value.split(',')) {
    if (index === 2 && /^(L|LW|\d{1,2}W)$/i.test(item)) {
      if (/^\d/.test(item) && !number(item.slice(0, -1))) return bad;
      continue;
    }
    if (index === 4 && /^(L|\w{1,3}L|\w{1,3}#[1-5])$/i.test(item)) {
      const day = item.replace(/(L|#[1-5])$/i, '');
      if (day && !number(day)) return bad;
      continue;
    }
    const [base, step, ...rest] = item.split('/');
    if (rest.length || base === undefined) return bad;
    if (step !== undefined && !(/^\d{1,4}$/.test(step) && Number(step) >= 1)) return bad;
    if (base === '*') continue;
    const [from, to, ...more] = base.split('-');
    if (more.length || !number(from!) || (to !== undefined && !number(to))) return bad;
  }
  return undefined;
}

/** Why `value` is not an EventBridge Scheduler cron expression, or undefined when it is one. */
export function cronProblem(value: string): string | undefined {
  const example = 'e.g. "cron(0 3 * * ? *)" for 03:00 every day';
  const m = /^cron\((.*)\)$/.exec(value.trim());
  const fields = m ? m[1]!.trim().split(/\s+/) : [];
  if (fields.length !== 6) return `must be an EventBridge Scheduler cron expression with 6 fields and "?" in day-of-month or day-of-week, ${example}`;
  for (const [i, f] of fields.entries()) {
    const problem = cronFieldProblem(f, i);
    if (problem) return `must be an EventBridge Scheduler cron expression, and ${problem}; ${example}`;
  }
  // Scheduler requires "?" in exactly one of day-of-month / day-of-week.
  if ((fields[2] === '?') === (fields[4] === '?')) return `must have "?" in exactly one of day-of-month and day-of-week, ${example}`;
  return undefined;
}

export const cronSchema = z.string().check(
  z.superRefine((value, ctx) => {
    const problem = cronProblem(value);
    if (problem) ctx.addIssue({ code: 'custom', message: problem, input: value });
  }),
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
  return path.reduce<string>((acc, part) => {
    if (typeof part === 'number') return `${acc}[${part}]`;
    const name = String(part);
    // A key that is not a plain name (blank, spaced, punctuated: a typo or a hostile file) is quoted, so the message still names it.
    if (!/^[A-Za-z_$][\w$-]*(\[\d+\])*$/.test(name)) return `${acc}[${JSON.stringify(name)}]`;
    return acc ? `${acc}.${name}` : name;
  }, '');
}

/** One zod issue in the words BotVault shows an operator (`key`: the one unknown field of an unrecognized_keys issue). */
export function describeIssue(issue: z.core.$ZodIssue, key?: string): string {
  if (issue.code === 'unrecognized_keys') {
    return `unknown field "${key ?? issue.keys.join('", "')}": remove it or check the spelling (see "Configuration" in README.md)`;
  }
  if (issue.code === 'invalid_type' && issue.input === undefined) return 'is required';
  return issue.message;
}

/**
 * A discovery glob: `*` matches any run of characters, `?` one; everything
 * else is literal; case-insensitive. Matched by the classic wildcard scan
 * with one backtracking point (a `*` only ever resumes from the last one
 * seen), which takes at most pattern × name steps. Neither a RegExp nor
 * picomatch does: `*a` twenty times then `*b`, against a 40-character name,
 * took 44 s as the RegExp this replaced and 198 s in picomatch 4.0.7
 * (measured on this project's machines); this takes microseconds.
 */
export function globMatcher(glob: string): (name: string) => boolean {
  const pattern = [...glob.toLowerCase()];
  return (name) => {
    const s = [...name.toLowerCase()];
    let p = 0;
    let i = 0;
    let star = -1;
    let resume = 0;
    while (i < s.length) {
      if (p < pattern.length && (pattern[p] === '?' || pattern[p] === s[i])) {
        p++;
        i++;
      } else if (p < pattern.length && pattern[p] === '*') {
        star = p++;
        resume = i;
      } else if (star !== -1) {
        p = star + 1;
        i = ++resume;
      } else {
        return false;
      }
    }
    while (pattern[p] === '*') p++;
    return p === pattern.length;
  };
}
