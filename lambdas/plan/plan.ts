/**
 * Plan: turns the config's targets (embedded in the definition at synth time)
 * and the execution input into the list of jobs the Map runs.
 *
 * Everything that can be wrong with a manual run's input is caught here, before
 * any export starts: a malformed input or an `only` entry that matches nothing
 * fails the whole execution with InvalidInputError naming the field.
 */
import * as z from 'zod/mini';
import { accountSchema } from '../../lib/core/accounts';
import { executionInputSchema, type Job, type PlanOutput, type planInputSchema } from '../../lib/core/contracts';
import { InvalidInputError } from '../../lib/core/errors';
import { logger } from '../../lib/core/logger';
import { onlySelects } from '../../lib/core/only';
import type { Provider } from '../../lib/providers/types';
import { claimTick, type TickMarkerDeps } from './tick-marker';
import { formatPath } from '../../lib/core/schemas';
import { targetSchema, type Target } from '../../lib/providers/definitions';

export type PlanInput = z.output<typeof planInputSchema>;

export interface PlanDeps {
  readonly providerFor: (name: string) => Provider;
  /** The stack's own account and region (part of every Lex key). */
  readonly home: { readonly account: string; readonly region: string };
  /**
   * Where schedule ticks are claimed (tick-marker.ts), built only when a
   * scheduled execution needs it. A scheduled execution whose tick another
   * execution claimed — one that is running or succeeded — fails with
   * DuplicateTickError; a marker naming any other takes the tick over.
   * @default - ticks are not claimed
   */
  readonly ticks?: () => TickMarkerDeps;
}

/** How many known ids an "unknown target" error lists before it says "and N more". */
const MAX_LISTED = 50;

function invalid(prefix: string, issues: readonly { path: readonly PropertyKey[]; message: string }[]): InvalidInputError {
  const lines = issues.map((i) => `${formatPath([prefix, ...i.path])}: ${i.message}`);
  return new InvalidInputError(`Invalid ${prefix === 'input' ? 'execution input' : 'target'}: ${lines.join('; ')}`);
}

export async function plan(input: PlanInput, deps: PlanDeps): Promise<PlanOutput> {
  const exec = executionInputSchema.safeParse(input.input ?? {});
  if (!exec.success) throw invalid('input', exec.error.issues);

  // Claim the schedule tick before any provider call: a repeated tick stops here.
  const { trigger, tickTime } = exec.data;
  if (trigger === 'schedule' && tickTime !== undefined && deps.ticks) {
    const claim = await claimTick(tickTime, input.runId, {
      ...deps.ticks(),
      ...(input.executionArn ? { executionArn: input.executionArn } : {}),
    });
    logger.info('Schedule tick claimed', { runId: input.runId, tickTime, claim });
  }

  const accounts = z.array(accountSchema).safeParse(input.accounts ?? []);
  if (!accounts.success) throw invalid('accounts', accounts.error.issues);

  const targets: Target[] = input.targets.map((raw, index) => {
    const parsed = targetSchema.safeParse(raw);
    if (!parsed.success) throw invalid(`targets[${index}]`, parsed.error.issues);
    return parsed.data;
  });

  // Sequential: a discovery target pages through list APIs, and running several at once only invites throttling.
  // Keyed by archive key: one resource reached through two targets (a static one and a discovery) is backed up once.
  const jobs = new Map<string, Job>();
  const context = { home: deps.home, accounts: accounts.data };
  for (const target of targets) {
    for (const job of await deps.providerFor(target.provider).plan(target, context)) {
      const seen = jobs.get(job.key);
      // Keep a known name.
      if (!seen) jobs.set(job.key, job);
      else if (!seen.name && job.name) jobs.set(job.key, { ...seen, name: job.name });
    }
  }

  let selected = [...jobs.values()];
  const only = exec.data.only;
  if (only) {
    const unknown = only.filter((entry) => !selected.some((job) => onlySelects(entry, job)));
    if (unknown.length) {
      const known = selected.map((j) => (j.name ? `${j.id} (${j.name})` : j.id));
      const listed = known.slice(0, MAX_LISTED).join(', ') + (known.length > MAX_LISTED ? `, and ${known.length - MAX_LISTED} more` : '');
      throw new InvalidInputError(
        `input.only: ${unknown.map((u) => `"${u}"`).join(', ')} ${unknown.length === 1 ? 'matches' : 'match'} no configured target. Give a job id, bot id or bot name; known targets: ${listed || '(none)'}.`,
      );
    }
    selected = selected.filter((job) => only.some((entry) => onlySelects(entry, job)));
  }

  logger.info('Planned backup jobs', { runId: input.runId, trigger: exec.data.trigger, targets: targets.length, jobs: selected.length });
  if (selected.length === 0) logger.warn('No jobs to run: discovery found no matching bots', { runId: input.runId });
  return { runId: input.runId, trigger: exec.data.trigger, jobs: selected };
}
