/**
 * The forms an `only` entry takes, in one place for everything that accepts
 * one: the execution input's `only` (the Plan Lambda decides), `botvault run
 * --only` and `botvault local --only` (which check it against the config
 * first, lib/cli/targets.ts checkOnly):
 *
 * - a job id, `<provider>:…` (`lex:ABCDEFGHIJ:DRAFT`, `lex:ABCDEFGHIJ:3:en_US`,
 *   `koreai:st-…:published`): that job;
 * - a bot id (or a Lex test set id): every job of that bot;
 * - a bot name, without regard to case: every job of the bot by that name.
 *   Plan knows the names of the bots a discovery target finds (ListBots
 *   gives them); a static target's job carries none, so a name selects
 *   discovered bots only.
 */
/** The part of a job an entry is matched against. */
interface Selectable {
  readonly id: string;
  readonly name?: string;
  readonly spec: { readonly botId?: unknown; readonly testSetId?: unknown };
}

/** Does `entry` select `job`? Job ids and bot ids match exactly, names without case. */
export function onlySelects(entry: string, job: Selectable): boolean {
  return (
    job.id === entry ||
    job.spec.botId === entry ||
    job.spec.testSetId === entry ||
    (job.name !== undefined && job.name.toLowerCase() === entry.toLowerCase())
  );
}
