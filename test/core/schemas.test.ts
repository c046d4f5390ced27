/**
 * The config's shared checks (lib/core/schemas.ts): discovery globs match in
 * linear time with the documented syntax, and cron expressions are checked
 * field by field against EventBridge Scheduler's ranges.
 */
import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { cronProblem, formatPath, globMatcher } from '../../lib/core/schemas';

describe('globMatcher', () => {
  it('"*" is any run, "?" one character, the rest literal, case-insensitive', () => {
    const cases: [string, string, boolean][] = [
      ['Fleet*', 'Fleet12', true],
      ['Fleet*', 'fleet', true],
      ['Fleet1?', 'Fleet12', true],
      ['Fleet1?', 'Fleet1', false],
      ['Fleet1?', 'Fleet123', false],
      ['*Bot', 'OrderBot', true],
      ['*Bot', 'OrderBots', false],
      ['a*b*c', 'aXXbYYc', true],
      ['a*b*c', 'aXXcYYb', false],
      ['Order.Flowers', 'OrderXFlowers', false],
      ['Order.Flowers', 'Order.Flowers', true],
      ['(test)+[x]', '(test)+[x]', true],
      ['*', '', true],
      ['?', '', false],
      ['Café?', 'CAFÉS', true],
    ];
    for (const [glob, name, expected] of cases) expect(globMatcher(glob)(name), `${glob} vs ${name}`).toBe(expected);
  });

  it('a pattern with many "*" against a long name finishes (the RegExp it replaced took 44 s at 40 characters, hours at 60)', () => {
    // In a child process, so that a matcher that backtracks exponentially fails this test by its timeout instead of hanging the run.
    const schemas = fileURLToPath(new URL('../../lib/core/schemas.ts', import.meta.url));
    const script = `import { globMatcher } from ${JSON.stringify(schemas)};
      const m = globMatcher('*a'.repeat(20) + '*b');
      process.stdout.write(String(m('a'.repeat(60))) + ' ' + String(m('a'.repeat(60) + 'b')));`;
    const out = execFileSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], { timeout: 20_000 }).toString();
    expect(out).toBe('false true');
  });
});

describe('cronProblem', () => {
  it('accepts what EventBridge Scheduler documents', () => {
    for (const c of [
      'cron(0 3 * * ? *)',
      'cron(0 6 ? * SUN *)',
      'cron(0/15 8-18 ? * MON-FRI *)',
      'cron(0 3 L * ? *)',
      'cron(0 3 15W * ? *)',
      'cron(0 3 ? * 6L *)',
      'cron(0 3 ? * 2#1 *)',
      'cron(5,10 3 * JAN-MAR ? 2026-2030)',
    ])
      expect(cronProblem(c), c).toBeUndefined();
  });

  it('names the field that is out of range', () => {
    const cases: [string, RegExp][] = [
      ['cron(99 3 * * ? *)', /its minutes field "99" is not valid \(0-59\)/],
      ['cron(0 24 * * ? *)', /its hours field "24" is not valid \(0-23\)/],
      ['cron(0 3 0 * ? *)', /its day-of-month field "0" is not valid \(1-31\)/],
      ['cron(0 3 * 13 ? *)', /its month field "13" is not valid \(1-12 or JAN-DEC\)/],
      ['cron(0 3 ? * FOO *)', /its day-of-week field "FOO" is not valid \(1-7 or SUN-SAT\)/],
      ['cron(0 3 * * ? 2300)', /its year field "2300" is not valid \(1970-2199\)/],
      ['cron(0/0 3 * * ? *)', /its minutes field "0\/0" is not valid/],
      ['cron(? 3 * * ? *)', /its minutes field cannot be "\?"/],
      ['cron(0 3 * * * *)', /"\?" in exactly one of day-of-month and day-of-week/],
      ['cron(0 3 * * *)', /with 6 fields/],
      ['0 3 * * ? *', /with 6 fields/],
    ];
    for (const [c, message] of cases) expect(cronProblem(c), c).toMatch(message);
  });
});

describe('formatPath', () => {
  it('names plain keys with dots and indexes, and quotes a key that is not a plain name (found by fuzzing: a key " " printed as blank)', () => {
    expect(formatPath(['targets', 2, 'botId'])).toBe('targets[2].botId');
    expect(formatPath(['targets[1]', 'botId'])).toBe('targets[1].botId');
    expect(formatPath([' '])).toBe('[" "]');
    expect(formatPath(['schedule', 'cron job', 0])).toBe('schedule["cron job"][0]');
  });
});
