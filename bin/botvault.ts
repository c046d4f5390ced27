/**
 * `botvault`: the operator's command line. Each command lives in lib/cli/;
 * this file only wires them into commander.
 */
import { readFileSync } from 'node:fs';
import { Command, CommanderError, InvalidArgumentError, Option } from 'commander';
import { runLocalCommand } from '../lib/cli/local';
import { awsCliError } from '../lib/cli/aws';
import { CliError, exitWith } from '../lib/cli/output';

const { version } = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version: string };

/**
 * Usage errors (an unknown option, a missing argument, a bad value) are one
 * line with a hint and exit code 2, like every other problem the operator can
 * fix: exit code 1 means "some jobs failed" (`run`) or "the import failed"
 * (`restore`). Commander's own message is kept; exitOverride lets the catch
 * at the end print it (subcommands inherit both settings).
 */
const program = new Command()
  .name('botvault')
  .version(version, '-V, --version', 'print the version of botvault and exit')
  // Program options only before the command: `get --version ID` is get's own option, not this one.
  .enablePositionalOptions()
  .description('Back up Amazon Lex V2 and Kore.ai bots into a versioned S3 bucket, and see what was backed up.')
  .exitOverride()
  .configureOutput({ outputError: () => undefined });

/** `run --only` and `local --only` take the same forms (lib/core/only.ts) and check them the same way. */
const ONLY_HELP =
  'back up only these targets: job ids such as lex:ABCDEFGHIJ:DRAFT or bot ids, or the names of bots a discovery target finds; checked against the config before anything starts';

program
  .command('local')
  .description(
    'Run the backup state machine that `cdk synth` emits on this machine, with every Task bound to the real handler in-process. ' +
      'AWS clients use the standard AWS_ENDPOINT_URL_<SERVICE> variables (local simulators), or real AWS when none is set.',
  )
  .option('-c, --config <file>', 'config file', 'botvault.config.json')
  .requiredOption('-b, --bucket <name>', 'archive bucket to write to (must exist)')
  .option('--fast', 'shorten waits and retry pauses to milliseconds (for simulators; real exports take minutes)', false)
  .option('--only <target...>', ONLY_HELP)
  .option('--json', 'print the run manifest as JSON instead of one line per job', false)
  .addOption(new Option('--run-id <id>', 'execution name / run id (default: local-<time>-<random>)'))
  .option('--mac-key <arn>', 'KMS HMAC key the run authenticates what it stores with (default: BOTVAULT_MAC_KEY_ID)')
  .action(async (opts) => exitWith(await runLocalCommand(opts)));

program
  .command('sandbox')
  .description(
    'Start everything BotVault talks to on 127.0.0.1 — Lex V2 and Kore.ai with a few bots, Secrets Manager, S3, KMS, STS, SNS, ' +
      'Step Functions running the synthesized state machine with the real handlers, CloudFormation with the stack outputs — ' +
      'print the AWS_ENDPOINT_URL_<SERVICE> lines to paste into another shell, and stay up until Ctrl-C (README "Try it without AWS"). ' +
      'S3 is OpenStack Swift (versioned) when BOTVAULT_SWIFT_S3_ENDPOINT is set, else s3rver (keeps no old versions).',
  )
  .option('--port <n>', 'first port: the services listen on the nine after it; 0 picks free ports (default: BOTVAULT_SANDBOX_PORT, else 4600)')
  .action(async (opts: { port?: string }) => {
    // Loaded on demand: the sandbox is the test simulators (test/simulators/), and it synthesizes the stack (aws-cdk-lib).
    const { runSandbox } = await import('../test/simulators/sandbox');
    exitWith(await runSandbox(opts));
  });

/**
 * Options shared by the commands that talk to a deployed stack. The help text
 * says where each value comes from when the option is left out.
 */
function deployedStackOptions(cmd: Command, opts: { stateMachine?: boolean; verifies?: boolean } = {}): Command {
  cmd
    .option('-c, --config <file>', 'config file; its stackName names the stack (default: botvault.config.json when present)')
    .option(
      '--stack <name>',
      `CloudFormation stack whose outputs name the archive bucket${opts.stateMachine ? ' and state machine' : ''} (default: the config's stackName, else BotVault)`,
    )
    .option('--bucket <name>', "archive bucket, instead of the stack's ArchiveBucketName output");
  if (opts.verifies)
    cmd
      .option('--mac-key <arn>', "KMS HMAC key to verify MACs with, instead of the stack's AuthenticationKeyArn output (or BOTVAULT_MAC_KEY_ID)")
      .option(
        '--accept-unverified',
        'use an object whose MAC is missing or wrong, or that has no sha256 metadata: nothing vouches for it (not stored by this stack, stored before MACs, or changed since); the output says UNVERIFIED',
        false,
      );
  if (opts.stateMachine) cmd.option('--state-machine <arn>', "state machine ARN, instead of the stack's StateMachineArn output");
  return cmd
    .option('--region <region>', "AWS region (default: AWS_REGION or your profile's region)")
    .option('--json', 'print JSON for scripts instead of text', false);
}

deployedStackOptions(
  program
    .command('run')
    .description(
      'Start a backup run of the deployed state machine now (input {"trigger":"manual"}). ' +
        'With --wait, follow it live and print one line per job. Exit codes: 0 all jobs succeeded, 1 some failed, 2 could not start.',
    )
    .option('--only <target...>', ONLY_HELP)
    .option('--wait', 'follow the run until it ends (a live table on a terminal, one line per change otherwise), then print the summary', false)
    .option('--name <name>', 'execution name, which is also the run id (default: manual-<time>-<random>); names are unique for 90 days')
    .addOption(new Option('--poll-ms <ms>', 'how often --wait polls the execution').default(2000).argParser(positiveInt).hideHelp()),
  { stateMachine: true },
).action(async (opts) => {
  const { runCommand } = await import('../lib/cli/run');
  exitWith(await runCommand(opts));
});

deployedStackOptions(
  program
    .command('status')
    .argument('[run]', 'run id (execution name), execution ARN or manifest key (default: the latest run)')
    .description(
      "Show a run's manifest as a table: each job's status, size, version and sha256 (or its error); a run still going, as it is so far. " +
        'Exit 0 when every job succeeded (or the run is still going), 1 when some failed, 2 when there is no such run.',
    )
    .option('--wait', 'a run still going: follow it until it ends (as run --wait does), then print the summary', false)
    .addOption(new Option('--poll-ms <ms>', 'how often --wait polls the execution').default(2000).argParser(positiveInt).hideHelp()),
  { verifies: true, stateMachine: true },
).action(async (run: string | undefined, opts) => {
  const { statusCommand } = await import('../lib/cli/status');
  exitWith(await statusCommand(run, opts));
});

deployedStackOptions(
  program
    .command('list')
    .argument('[target]', 'only this resource: job id (lex:ABCDEFGHIJ:DRAFT), bot id (ABCDEFGHIJ) or S3 key')
    .description('List the backed-up resources and every stored version: date, size, sha256, S3 version id and the run that stored it.'),
).action(async (target: string | undefined, opts) => {
  const { listCommand } = await import('../lib/cli/list');
  exitWith(await listCommand(target, opts));
});

deployedStackOptions(
  program
    .command('get')
    .argument('<target>', 'the resource: job id (lex:ABCDEFGHIJ:DRAFT), bot id when it has one archive, or S3 key')
    .description(
      'Download an archive version, checking it against the sha256 stored with it on the way; on a mismatch nothing is written and the exit code is 2.',
    )
    .option('--version <id>', 'S3 version id from `botvault list` (default: the current version)')
    .option('-o, --output <file>', 'where to write it (default: <botId>-<botVersion>-<version or "current">.zip here)')
    .option('--force', 'overwrite the file when it exists (without it, an existing file is refused: exit 2, nothing downloaded)', false),
  { verifies: true },
).action(async (target: string, opts) => {
  const { getCommand } = await import('../lib/cli/get');
  exitWith(await getCommand(target, opts));
});

deployedStackOptions(
  program
    .command('restore')
    .argument('<target>', 'the resource: job id (lex:ABCDEFGHIJ:DRAFT, koreai:st-…:published), bot id when it has one archive, or S3 key')
    .description(
      'Put an archive version back into the provider: read it from S3 (sha256-checked), upload it and start an import into the bot, then follow the import. ' +
        'An existing bot is imported with FailOnConflict unless --merge says otherwise, so by default nothing is overwritten. ' +
        'Exit codes: 0 restored, 1 the import failed (its reasons are printed) or was still running at --timeout, 2 could not start; a --dry-run exits as the restore would.',
    )
    .option('--version <id>', 'S3 version id from `botvault list` (default: the current version)')
    .option(
      '--to-bot <name|id>',
      'restore into this bot: an existing bot id or name, or the name of a new bot (default: the bot the archive came from)',
    )
    .addOption(
      new Option(
        '--merge <strategy>',
        'what happens to resources that already exist in the bot (Lex: Append is for custom vocabularies only)',
      ).choices(['FailOnConflict', 'Overwrite', 'Append']),
    )
    .option(
      '--dry-run',
      'check everything the restore checks (archive, sha256 and MAC, target bot, parameters, credentials, upload URL) and change nothing',
      false,
    )
    .option('--role-arn <arn>', "Lex, new bot: the bot's IAM role (default: the restore sidecar's, or the existing bot's)")
    .addOption(
      new Option('--child-directed <bool>', 'Lex, new bot: COPPA dataPrivacy.childDirected (default: sidecar, then the archive)')
        .choices(['true', 'false'])
        .argParser((v) => v === 'true'),
    )
    .addOption(
      new Option('--idle-session-ttl <seconds>', 'Lex, new bot: idle session timeout, 60-86400 (default: sidecar, then the archive)').argParser(
        wholeSeconds,
      ),
    )
    .addOption(
      new Option('--timeout <seconds>', 'stop following the import after this long (it goes on at the provider)')
        .default(900)
        .argParser(wholeSeconds),
    )
    .addOption(new Option('--poll-ms <ms>', 'how often the import status is polled').default(2000).argParser(positiveInt).hideHelp())
    .option(
      '--to-account <id|name>',
      "Lex: restore into this account: an id or name of the config's accounts (through its restore role), or home (your own); every ARN naming the source account or region is rewritten",
    )
    .option('--to-region <region>', "Lex: restore into this region (default with --to-account: the archive's), ARNs rewritten")
    .option(
      '--role-to-assume <arn>',
      "the role to assume in --to-account (default: the account's arn:<partition>:iam::<account>:role/BotVaultRestore, the member template's restore role)",
    )
    .option('--external-id <id>', "the external ID the role requires (default: the accounts entry's externalId)")
    .option(
      '--map-arn <from=to>',
      "map an ARN the rewrite cannot (another account's): FROM=TO exactly, or FROM*=TO* for a prefix; repeat for more",
      (v: string, prev: string[] = []) => [...prev, v],
    ),
  { verifies: true },
).action(async (target: string, opts) => {
  const { restoreCommand } = await import('../lib/cli/restore');
  exitWith(await restoreCommand(target, opts));
});

deployedStackOptions(
  program
    .command('history')
    .argument('<target>', 'the resource: job id (lex:ABCDEFGHIJ:DRAFT), bot id when it has one archive, or S3 key')
    .description(
      "The timeline of a bot's versions, newest first: time, run, size, sha256, and what changed in the bot with each (intents, utterances, slots, dialogs, …, from the change record stored with it). " +
        "Each version's metadata and each change record is checked with its MAC; a version that fails is shown REFUSED. Exit 0; 2 when a version was refused or the history cannot be read.",
    )
    .addOption(
      new Option('--limit <n>', 'only the newest N versions').argParser((v) => {
        const n = Number(v);
        if (!Number.isInteger(n) || n < 1) throw new InvalidArgumentError('must be a whole number of versions, at least 1');
        return n;
      }),
    ),
  { verifies: true },
).action(async (target: string, opts) => {
  const { historyCommand } = await import('../lib/cli/history');
  exitWith(await historyCommand(target, opts));
});

deployedStackOptions(
  program
    .command('diff')
    .argument('<target>', 'the resource: job id (lex:ABCDEFGHIJ:DRAFT), bot id when it has one archive, or S3 key')
    .description(
      "Compare two archive versions: what changed in the bot (intents, utterances, slots and slot types, dialogs, patterns, knowledge graph, variables, settings), then the files added, removed or changed; --files adds a unified diff of each changed file's pretty-printed JSON. " +
        'Exit 0 whether or not they differ; 2 when a version cannot be read.',
    )
    .option('--from <id>', 'older S3 version id (default: the version before --to)')
    .option('--to <id>', 'newer S3 version id (default: the current version)')
    .option('--files', "after the summary of what changed in the bot, each changed file's unified diff", false)
    .addOption(
      new Option('--context <lines>', 'lines of context around each change').default(3).argParser((v) => {
        const n = Number(v);
        if (!Number.isInteger(n) || n < 0) throw new InvalidArgumentError('must be a whole number of lines, 0 or more');
        return n;
      }),
    ),
  { verifies: true },
).action(async (target: string, opts) => {
  const { diffCommand } = await import('../lib/cli/diff');
  exitWith(await diffCommand(target, opts));
});

deployedStackOptions(
  program
    .command('mirror')
    .argument(
      '[targets...]',
      "only these resources: job ids (lex:ABCDEFGHIJ:DRAFT), bot ids (all of a bot's resources) or S3 keys (default: every resource in the bucket)",
    )
    .requiredOption(
      '--git <dir>',
      'the Git repository to mirror into: created and initialized when missing or empty; an existing one must have no uncommitted changes',
    )
    .description(
      'Replay the archive versions into a Git repository, one commit per version, oldest first: each resource in a folder named after its S3 key, ' +
        'JSON pretty-printed with sorted keys, the commit dated at the backup and described by its change summary, with BotVault-* trailers (key, version id, run, sha256). ' +
        'Run it again to add only the newer versions. A version failing its sha256, MAC or zip checks is not committed and is named on stderr. ' +
        'Exit 0 when every version was mirrored, 2 when some were not (or nothing could be done).',
    ),
  { verifies: true },
).action(async (targets: string[], opts) => {
  const { mirrorCommand } = await import('../lib/cli/mirror');
  exitWith(await mirrorCommand(targets, opts));
});

function wholeSeconds(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1) throw new InvalidArgumentError('must be a whole number of seconds, at least 1');
  return n;
}

function positiveInt(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1) throw new InvalidArgumentError('must be a whole number of milliseconds, at least 1');
  return n;
}

program.parseAsync(process.argv).catch((err: unknown) => {
  if (err instanceof CommanderError) {
    // --help and --version end here too, with exit code 0 and their output already written.
    if (err.exitCode === 0) process.exit(0);
    // No command at all: commander has printed the help to stderr; that is the hint.
    if (err.code === 'commander.help') process.exit(2);
    const command = program.commands.find((c) => c.name() === process.argv[2])?.name();
    const hint = command ? `botvault ${command} --help` : 'botvault --help';
    process.stderr.write(`botvault: ${err.message.replace(/^error: /, '')} (see \`${hint}\`)\n`);
    process.exit(2);
  }
  // Credential, region and network failures anywhere become the same one-line advice.
  const known = err instanceof CliError ? err : awsCliError(err, 'an AWS call');
  if (known) {
    process.stderr.write(`botvault: ${known.message}\n`);
    process.exit(2);
  }
  if (err instanceof Error && '$metadata' in err) {
    // An AWS service error no command expected: its name and message are the useful part, not our stack.
    process.stderr.write(`botvault: AWS error ${err.name}: ${err.message}\n`);
    process.exit(2);
  }
  process.stderr.write(`botvault: unexpected error: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  process.exit(2);
});
