/**
 * The sandbox (`npm run sandbox`, `botvault sandbox`): BotVault's whole world
 * on 127.0.0.1, for trying every command of the README without an AWS
 * account. It starts the Lex V2 and Kore.ai simulators with the bots of
 * scripts/local-estate.ts, Secrets Manager holding the Kore.ai app's
 * credentials and a Lex export password, and the simulated deployed stack
 * (./stack.ts: S3, KMS with the stack's HMAC key, STS, SNS, Step Functions
 * running the synthesized state machine with the real handlers in this
 * process, CloudFormation with the stack's outputs). Before it says it is
 * ready it runs "last night's" scheduled backup and then edits two bots, so
 * the first `botvault run` has something new to store and `history` and
 * `diff` have two versions to show.
 *
 * It prints the `export` lines an operator pastes into another shell (the
 * standard AWS_ENDPOINT_URL_<SERVICE> variables, region, the S3 server's test
 * credentials, where its config file is) and stays up until SIGINT or
 * SIGTERM; then it stops everything it started, removes its temporary
 * directory and returns 0. No secret value is printed: the Kore.ai client
 * secret, the export password and the MAC key exist only in this process.
 */
import { once } from 'node:events';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SFNClient, StartExecutionCommand } from '@aws-sdk/client-sfn';
import { CliError } from '../../lib/cli/output';
import { editEstate, estateSecrets, estateTargets, KORE_BOTS, LEX_BOTS } from '../../scripts/local-estate';
import { type KoreSimulator, startKoreSimulator } from './koreai-simulator';
import { type LexSimulator, startLexSimulator } from './lex-simulator';
import { type SecretsSimulator, startSecretsSimulator } from './secrets-simulator';
import { type SimulatedStack, type StackService, startSimulatedStack } from './stack';

/** Where each service listens: the base port plus this offset (Swift, when used, keeps its own port). */
const PORT_OFFSETS = {
  LEX_MODELS_V2: 1,
  KOREAI: 2,
  SECRETS_MANAGER: 3,
  S3: 4,
  KMS: 5,
  STS: 6,
  SNS: 7,
  SFN: 8,
  CLOUDFORMATION: 9,
} as const;

/** The first port when neither the option nor BOTVAULT_SANDBOX_PORT says otherwise: 4601-4609, clear of LocalStack's 4566. */
const DEFAULT_SANDBOX_PORT = 4600;

/** The stack name: the CLI's default, so `botvault list` and the README's `--stack-name BotVault` find it unchanged. */
const STACK_NAME = 'BotVault';

interface SandboxOptions {
  /**
   * The base port: each service listens on the next ones (Lex V2 +1, Kore.ai
   * +2, Secrets Manager +3, S3 +4, KMS +5, STS +6, SNS +7, Step Functions +8,
   * CloudFormation +9); 0 picks free ports.
   * @default BOTVAULT_SANDBOX_PORT, else 4600
   */
  readonly port?: number | string;
  /** Where the instructions go. @default process.stdout */
  readonly out?: NodeJS.WritableStream;
}

interface Sandbox {
  readonly lex: LexSimulator;
  readonly kore: KoreSimulator;
  readonly secrets: SecretsSimulator;
  readonly stack: SimulatedStack;
  /** The temporary directory (config file, downloads, mirrors); removed by close(). */
  readonly dir: string;
  readonly configFile: string;
  /** The scheduled run made at start-up. */
  readonly seedRun: string;
  /** The variables to export in the operator's shell, in print order. */
  readonly env: Readonly<Record<string, string>>;
  close(): Promise<void>;
}

/** The base port from the option, else BOTVAULT_SANDBOX_PORT, else the default; a bad value is a CliError (exit 2, one line). */
function sandboxBasePort(option: number | string | undefined, env = process.env): number {
  const raw = option ?? (env.BOTVAULT_SANDBOX_PORT || undefined);
  if (raw === undefined) return DEFAULT_SANDBOX_PORT;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 0 || n > 65535 - 9) {
    throw new CliError(
      `sandbox port ${JSON.stringify(String(raw))}: give a whole number up to 65526 (the services use the nine after it), or 0 for free ports`,
    );
  }
  return n;
}

async function startSandbox(opts: { port: number }): Promise<Sandbox> {
  const portOf = (service: keyof typeof PORT_OFFSETS) => (opts.port === 0 ? 0 : opts.port + PORT_OFFSETS[service]);
  const started: { close(): Promise<void> }[] = [];
  const dir = mkdtempSync(join(tmpdir(), 'botvault-sandbox-'));
  const closeAll = async () => {
    for (const s of started.splice(0).reverse()) await s.close();
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    const { koreApp, secrets: secretValues } = estateSecrets();
    // Exports take a moment, as real ones do (minutes there): the run's live view has something to show.
    const lex = await startLexSimulator({ bots: LEX_BOTS, defaultFaults: { exportLatencyMs: 300 }, port: portOf('LEX_MODELS_V2') });
    started.push(lex);
    const kore = await startKoreSimulator({ apps: [koreApp], bots: KORE_BOTS, port: portOf('KOREAI') });
    started.push(kore);
    for (const bot of KORE_BOTS) kore.setFaults(bot.botId, { exportLatencyMs: 300 });
    const secrets = await startSecretsSimulator({ secrets: secretValues, port: portOf('SECRETS_MANAGER') });
    started.push(secrets);
    // The handlers run in this process (inside the Step Functions simulator): their provider clients go here.
    process.env.AWS_ENDPOINT_URL_LEX_MODELS_V2 = lex.url;
    process.env.AWS_ENDPOINT_URL_SECRETS_MANAGER = secrets.url;

    const rawConfig = {
      stackName: STACK_NAME,
      maxConcurrency: 4,
      downloadAllowlist: [lex.url, kore.url],
      targets: estateTargets(kore.url),
    };
    const ports = Object.fromEntries((['S3', 'KMS', 'STS', 'SNS', 'SFN', 'CLOUDFORMATION'] as const).map((s) => [s, portOf(s)])) as Record<
      StackService,
      number
    >;
    const stack = await startSimulatedStack({
      rawConfig,
      s3: process.env.BOTVAULT_SWIFT_S3_ENDPOINT ? 'swift' : 's3rver',
      ports,
      notifications: true,
      bucket: `botvault-sandbox-${Date.now().toString(36)}`,
    });
    started.push(stack);
    const configFile = join(dir, 'botvault.config.json');
    writeFileSync(configFile, `${JSON.stringify(rawConfig, null, 2)}\n`);

    const seedRun = await seedHistory(stack);
    editEstate(lex, kore);

    const env: Record<string, string> = {
      AWS_ENDPOINT_URL_LEX_MODELS_V2: lex.url,
      AWS_ENDPOINT_URL_SECRETS_MANAGER: secrets.url,
      ...stack.endpoints,
      AWS_REGION: 'us-east-1',
      AWS_ACCESS_KEY_ID: stack.credentials.accessKeyId,
      AWS_SECRET_ACCESS_KEY: stack.credentials.secretAccessKey,
      BOTVAULT_SANDBOX_CONFIG: configFile,
      BOTVAULT_SANDBOX_DIR: dir,
    };
    let closing: Promise<void> | undefined;
    return { lex, kore, secrets, stack, dir, configFile, seedRun, env, close: () => (closing ??= closeAll()) };
  } catch (err) {
    await closeAll();
    throw err;
  }
}

const SEED_TIMEOUT_MS = 120_000;

/** Last night's scheduled run, through the Step Functions API as EventBridge Scheduler starts it. */
async function seedHistory(stack: SimulatedStack): Promise<string> {
  const yesterday = new Date(Date.now() - 86_400_000).toISOString().slice(0, 10).replace(/-/g, '');
  const name = `scheduled-${yesterday}T030000Z`;
  const sfn = new SFNClient({ endpoint: stack.sfn.url, region: 'us-east-1', credentials: stack.credentials });
  try {
    const { executionArn } = await sfn.send(
      new StartExecutionCommand({ stateMachineArn: stack.sfn.stateMachineArn, name, input: JSON.stringify({ trigger: 'schedule' }) }),
    );
    const execution = stack.sfn.executions.get(executionArn!)!;
    // A run that hangs (a simulator that stopped answering) fails the start-up instead of holding it forever.
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(
        () => reject(new Error(`the sandbox's first backup run ${name} did not end within ${SEED_TIMEOUT_MS / 1000} s`)),
        SEED_TIMEOUT_MS,
      );
    });
    await Promise.race([execution.finished, timeout]).finally(() => clearTimeout(timer));
    if (execution.status !== 'SUCCEEDED') throw new Error(`the sandbox's first backup run ${name} ended ${execution.status}: ${execution.cause}`);
  } finally {
    sfn.destroy();
  }
  return name;
}

const shellQuote = (s: string) => (/^[\w@%+=:,./-]+$/.test(s) ? s : `'${s.replace(/'/g, `'\\''`)}'`);

/** What the sandbox prints once it is up: what runs where, the lines to paste, and a few commands to start with. */
function sandboxInstructions(sb: Sandbox): string {
  const e = sb.env;
  const s3 = sb.stack.versioned
    ? 'OpenStack Swift (BOTVAULT_SWIFT_S3_ENDPOINT): versioned, every stored archive stays as an S3 version'
    : 's3rver in-process: NOT versioned, it keeps no old versions (history shows one, diff has nothing to compare, ' +
      'the AWS CLI cannot list versions); for real versioning: npm run sandbox:versioned';
  const lines = [
    `BotVault sandbox: every service on 127.0.0.1, no AWS account; Ctrl-C stops it.`,
    '',
    `  Lex V2           ${e.AWS_ENDPOINT_URL_LEX_MODELS_V2}  bots ${LEX_BOTS.map((b) => `${b.botName} (${b.botId})`).join(', ')}`,
    `  Kore.ai          ${sb.kore.url}  bots ${KORE_BOTS.map((b) => `${b.botName} (${b.botId})`).join(', ')}`,
    `  Secrets Manager  ${e.AWS_ENDPOINT_URL_SECRETS_MANAGER}  the Kore.ai app's credentials and a Lex export password (values not shown)`,
    `  S3               ${e.AWS_ENDPOINT_URL_S3}  bucket ${sb.stack.bucket}; ${s3}`,
    `  KMS              ${e.AWS_ENDPOINT_URL_KMS}  the stack's HMAC key ${sb.stack.macKeyArn}`,
    `  STS              ${e.AWS_ENDPOINT_URL_STS}  account ${sb.stack.sts.accountId}`,
    `  SNS              ${e.AWS_ENDPOINT_URL_SNS}  topic ${sb.stack.sns?.topicArn} (the run's change notification)`,
    `  Step Functions   ${e.AWS_ENDPOINT_URL_SFN}  ${sb.stack.sfn.stateMachineArn}: the synthesized state machine, real handlers`,
    `  CloudFormation   ${e.AWS_ENDPOINT_URL_CLOUDFORMATION}  stack ${sb.stack.config.stackName} with its outputs`,
    '',
    `Last night's backup run ${sb.seedRun} stored every bot; since then OrderFlowers got an intent and HotelConcierge a dialog.`,
    '',
    'Paste into another shell (test credentials of the sandbox, not AWS ones):',
    '',
    'unset AWS_PROFILE AWS_SESSION_TOKEN',
    ...Object.entries(e).map(([k, v]) => `export ${k}=${shellQuote(v)}`),
    '',
    'Then, for example (README "Try it without AWS" has every command):',
    '',
    '  npx botvault run --config "$BOTVAULT_SANDBOX_CONFIG" --wait',
    '  npx botvault history lex:ORDRFLWRS1:DRAFT',
    '  aws cloudformation describe-stacks --stack-name BotVault --endpoint-url "$AWS_ENDPOINT_URL_CLOUDFORMATION"',
    '',
  ];
  return lines.join('\n');
}

/**
 * `botvault sandbox` and `npm run sandbox`: starts the sandbox, prints the
 * instructions, waits for SIGINT or SIGTERM, stops everything. Returns the
 * exit code (0).
 */
export async function runSandbox(opts: SandboxOptions = {}): Promise<number> {
  const out = opts.out ?? process.stdout;
  const port = sandboxBasePort(opts.port);
  // The handlers' JSON logs would bury the instructions (POWERTOOLS_LOG_LEVEL=INFO brings them back).
  process.env.POWERTOOLS_LOG_LEVEL ??= 'SILENT';
  const t0 = Date.now();
  out.write(`BotVault sandbox: starting (first port ${port || 'free'}) and running last night's backup...\n`);
  // Signals that come while starting stop it as soon as it is up.
  const stop = Promise.race([once(process, 'SIGINT'), once(process, 'SIGTERM')]);
  let sb: Sandbox;
  try {
    sb = await startSandbox({ port });
  } catch (err) {
    // Another sandbox (or anything else) on one of the ports: say which, and how to move.
    if ((err as NodeJS.ErrnoException).code === 'EADDRINUSE') {
      throw new CliError(
        `${(err as Error).message}: is a sandbox already running? Stop it, or move the ports with BOTVAULT_SANDBOX_PORT=N (0: free ones)`,
      );
    }
    throw err;
  }
  out.write(`${sandboxInstructions(sb)}\nready in ${((Date.now() - t0) / 1000).toFixed(1)} s\n`);
  await stop;
  out.write('BotVault sandbox: stopping\n');
  await sb.close();
  out.write('BotVault sandbox: stopped\n');
  return 0;
}
