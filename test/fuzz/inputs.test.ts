/**
 * Fuzzing every input BotVault parses from outside (issue 14): configs
 * (random values at random places of a real config, and arbitrary JSON),
 * execution inputs through Plan, every Task's payload through its handler's
 * schema, schedule tick times, discovery globs (linear time: no pattern
 * hangs the matcher) and the JSON of sidecars. Each case is accepted or
 * refused with the named error the caller expects — ConfigError naming a
 * field, InvalidInputError — never a TypeError, never a hang.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { plan } from '../../lambdas/plan/plan';
import { tickMarkerKey } from '../../lambdas/plan/tick-marker';
import { parseInput } from '../../lambdas/shared/handler';
import { ConfigError, parseConfig } from '../../lib/config/config';
import {
  checkExportInputSchema,
  cleanupInputSchema,
  planInputSchema,
  startExportInputSchema,
  storeArchiveInputSchema,
  summarizeInputSchema,
} from '../../lib/core/contracts';
import { InvalidInputError } from '../../lib/core/errors';
import { syncLogLevel } from '../../lib/core/logger';
import { globMatcher } from '../../lib/core/schemas';
import { restoreInfoSchema } from '../../lib/providers/definitions';
import { providerFor } from '../../lib/providers/registry';
import { runs, within } from './mutate';

const REAL_CONFIG = {
  stackName: 'BotVault',
  schedule: { cron: 'cron(0 3 * * ? *)', timezone: 'Europe/Berlin', enabled: true },
  maxConcurrency: 5,
  retention: { noncurrentTransitionDays: 30, noncurrentExpirationDays: 365, noncurrentVersionsToKeep: 30 },
  logRetentionDays: 90,
  downloadAllowlist: ['https://files.example.com'],
  archiveLimits: { maxEntries: 10000, maxUncompressedMiB: 2048, maxCompressionRatio: 100 },
  targets: [
    { provider: 'lex', botId: 'ABCDEFGHIJ', botVersion: 'DRAFT' },
    { provider: 'lex', discover: true, include: ['Order*'], versions: 'latest' },
    { provider: 'koreai', host: 'https://bots.kore.ai', botId: 'st-00000000-0000-0000-0000-000000000001', credentialsSecret: 'botvault/kore' },
  ],
};

/** A path into a JSON value and a replacement: where an operator's typo or a hostile edit lands. */
function replaceAt(value: unknown, path: readonly number[], replacement: unknown): unknown {
  if (path.length === 0 || value === null || typeof value !== 'object') return replacement;
  const entries = Array.isArray(value) ? value.map((v, i) => [String(i), v] as const) : Object.entries(value);
  if (entries.length === 0) return replacement;
  const i = path[0]! % (entries.length + 1);
  if (i === entries.length) {
    // A key of its own choosing: unknown fields must be refused by name, not ignored.
    return Array.isArray(value) ? [...value, replacement] : { ...value, [`x${path.length}`]: replacement };
  }
  const [k, v] = entries[i]!;
  const next = replaceAt(v, path.slice(1), replacement);
  return Array.isArray(value) ? value.map((x, j) => (j === i ? next : x)) : { ...value, [k]: next };
}

const jsonish = fc.oneof(
  fc.jsonValue(),
  fc.constantFrom('', ' ', 'cron(99 3 * * ? *)', '*.com', 'http://169.254.169.254', '../..', 'DRAFT', -1, 0, 1e308, 2 ** 53, null, [], {}),
  fc.string({ unit: 'binary', maxLength: 40 }),
);
const edits = fc.array(fc.tuple(fc.array(fc.nat(), { maxLength: 5 }), jsonish), { minLength: 1, maxLength: 3 });

describe('fuzzing the inputs', () => {
  it('configs: a real config with random values at random places, or arbitrary JSON, is valid or one ConfigError naming fields', () => {
    let refused = 0;
    fc.assert(
      fc.property(
        fc.oneof({ weight: 4, arbitrary: edits }, { weight: 1, arbitrary: fc.jsonValue().map((v) => [[[], v]] as [number[], unknown][]) }),
        (es) => {
          let raw: unknown = REAL_CONFIG;
          for (const [path, v] of es) raw = replaceAt(raw, path, v);
          try {
            parseConfig(raw);
          } catch (err) {
            if (!(err instanceof ConfigError)) throw err;
            expect(err.issues.length).toBeGreaterThan(0);
            for (const issue of err.issues) expect(issue.path).toMatch(/\S/);
            refused++;
          }
        },
      ),
      { numRuns: runs(3000) },
    );
    expect(refused).toBeGreaterThan(runs(3000) / 2);
  });

  it('execution inputs through Plan (explicit targets: no provider is called): a plan or InvalidInputError', async () => {
    // Thousands of plans: their info lines are not the point.
    process.env.POWERTOOLS_LOG_LEVEL = 'SILENT';
    syncLogLevel();
    const providers = { lex: undefined as never, secrets: async () => '' };
    const deps = { providerFor: (name: string) => providerFor(name, providers as never), home: { account: '123456789012', region: 'us-east-1' } };
    const targets = [REAL_CONFIG.targets[0], REAL_CONFIG.targets[2]];
    let refused = 0;
    await fc.assert(
      fc.asyncProperty(
        fc.oneof(
          fc.jsonValue(),
          fc.record({ trigger: jsonish, only: fc.oneof(fc.array(fc.string()), jsonish), tickTime: jsonish }, { requiredKeys: [] }),
        ),
        async (input) => {
          try {
            const out = await within(2_000, plan({ runId: 'fuzz', startedAt: '2026-12-01T03:00:00Z', targets, input }, deps), JSON.stringify(input));
            expect(out.jobs.length).toBeGreaterThan(0);
          } catch (err) {
            if (!(err instanceof InvalidInputError)) throw err;
            refused++;
          }
        },
      ),
      { numRuns: runs(3000) },
    );
    expect(refused).toBeGreaterThan(0);
  });

  it("every Task's payload: its handler's schema accepts it or refuses with InvalidInputError", () => {
    const schemas = [
      planInputSchema,
      startExportInputSchema,
      checkExportInputSchema,
      storeArchiveInputSchema,
      cleanupInputSchema,
      summarizeInputSchema,
    ];
    fc.assert(
      fc.property(fc.constantFrom(...schemas), fc.jsonValue(), (schema, event) => {
        try {
          parseInput(schema, event, 'Fuzz');
        } catch (err) {
          if (!(err instanceof InvalidInputError)) throw err;
          expect(err.message).toMatch(/^Fuzz got an invalid input: /);
        }
      }),
      { numRuns: runs(3000) },
    );
  });

  it('schedule tick times: a ticks/ key only for a real UTC time, InvalidInputError otherwise', () => {
    fc.assert(
      fc.property(
        fc.oneof(
          fc.string({ unit: 'binary' }),
          fc.date({ noInvalidDate: true }).map((d) => d.toISOString()),
        ),
        (t) => {
          try {
            expect(tickMarkerKey(t)).toMatch(/^ticks\/\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,3})?Z\.json$/);
          } catch (err) {
            if (!(err instanceof InvalidInputError)) throw err;
          }
        },
      ),
      { numRuns: runs(2000) },
    );
  });

  it('discovery globs: any pattern against any name answers in linear time (no case takes 50 ms)', () => {
    let slowest = 0;
    fc.assert(
      fc.property(
        fc.string({ unit: fc.constantFrom('*', '?', 'a', 'b', '-', '.'), maxLength: 60 }),
        fc.string({ unit: fc.constantFrom('a', 'b', '-'), maxLength: 100 }),
        (glob, name) => {
          const started = performance.now();
          globMatcher(glob)(name);
          slowest = Math.max(slowest, performance.now() - started);
        },
      ),
      { numRuns: runs(2000) },
    );
    expect(slowest).toBeLessThan(50);
  });

  it('restore sidecars: arbitrary JSON parses as a sidecar or is refused by the schema (restore then ignores it)', () => {
    fc.assert(
      fc.property(fc.jsonValue(), (value) => {
        const parsed = restoreInfoSchema.safeParse(value);
        expect(typeof parsed.success).toBe('boolean');
      }),
      { numRuns: runs(2000) },
    );
  });
});
