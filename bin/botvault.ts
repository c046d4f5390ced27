/**
 * `botvault`: the operator's command line. Each command lives in lib/cli/;
 * this file only wires them into commander.
 */
import { Command, Option } from 'commander';
import { runLocalCommand } from '../lib/cli/local';
import { CliError, exitWith } from '../lib/cli/output';

const program = new Command()
  .name('botvault')
  .description('Back up Amazon Lex V2 bots into a versioned S3 bucket, and see what was backed up.')
  .showHelpAfterError('(run with --help for usage)')
  .configureOutput({ outputError: (str, write) => write(str) });

program
  .command('local')
  .description(
    'Run the backup state machine that `cdk synth` emits on this machine, with every Task bound to the real handler in-process. ' +
      'AWS clients use the standard AWS_ENDPOINT_URL_<SERVICE> variables (local simulators), or real AWS when none is set.',
  )
  .option('-c, --config <file>', 'config file', 'botvault.config.json')
  .requiredOption('-b, --bucket <name>', 'archive bucket to write to (must exist)')
  .option('--fast', 'shorten waits and retry pauses to milliseconds (for simulators; real exports take minutes)', false)
  .option('--only <target...>', 'back up only these targets (job id such as lex:ABCDEFGHIJ:DRAFT, bot id, or bot name)')
  .option('--json', 'print the run manifest as JSON instead of one line per job', false)
  .addOption(new Option('--run-id <id>', 'execution name / run id (default: local-<time>-<random>)'))
  .action(async (opts) => exitWith(await runLocalCommand(opts)));

program.parseAsync(process.argv).catch((err: unknown) => {
  if (err instanceof CliError) {
    process.stderr.write(`botvault: ${err.message}\n`);
    process.exit(2);
  }
  process.stderr.write(`botvault: unexpected error: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  process.exit(2);
});
