/**
 * Discovery at scale (issue 16): the real Plan handler (lambdas/plan/handler.ts,
 * its deps from the environment as in Lambda) discovers Lex bots in 3 accounts
 * × 2 regions × 100 bots: the home account with its own credentials, two
 * member accounts through STS AssumeRole of their backup roles (with external
 * IDs), each account and region its own Lex (test/simulators/lex-estate.ts),
 * every request SigV4-verified.
 *
 * Each round is a fresh child process (this file with `child`), as a new Plan
 * container is: its first invocation builds the clients and assumes the roles
 * (cold), the next ones reuse them (warm). The simulators run in this process,
 * so they do not share the child's event loop. Between invocations the child
 * waits for this process to read the calls the simulators recorded, so every
 * call is counted against the invocation that made it.
 *
 * Reported: Plan's duration (median, min, max; cold and warm), the calls by
 * operation and account/region (ListBots pages, AssumeRole), the jobs planned,
 * and the Plan output's size against Step Functions' 256 KiB per state
 * ("Maximum input or output size for a task, state, or execution: 256 KiB of
 * data as a UTF-8 encoded string", Step Functions service quotas; 262,144
 * bytes, the API's length constraint on every state's input and output), the
 * state after the Map (the results, which replace the job list) in the same terms, and the inline Map's
 * 25,000-event history at README "Scaling"'s events per job.
 *
 *   node --import tsx test/bench/accounts.ts     this part alone (or `npm run bench -- accounts`)
 *
 * BENCH_ACCOUNTS_ROUNDS (5) child processes for the main case, each invoking
 * Plan 1 + BENCH_ACCOUNTS_WARM (3) times; the variants get 3 rounds.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { createInterface } from 'node:readline';
import { pathToFileURL } from 'node:url';
import { parseConfig } from '../../lib/config/config';
import type { Job, JobResult, PlanOutput } from '../../lib/core/contracts';
import { startLexEstate } from '../simulators/lex-estate';
import type { SimBot } from '../simulators/lex-simulator';
import { HOME, SimCredentials } from '../simulators/sim-credentials';
import { startStsSimulator } from '../simulators/sts-simulator';
import { tsxArgs } from './store';

/** Step Functions' limit on a state's input or output, bytes of UTF-8 (service quotas: 256 KiB). */
export const STATE_LIMIT_BYTES = 262_144;
/** A Standard execution's history (service quotas: 25,000 events). */
const HISTORY_EVENTS = 25_000;
/**
 * Inline Map events per job, README "Scaling: inline or distributed Map": a job ready at its first poll
 * ~28 (5 per Lambda task, 2 per Wait, Choice or Pass, 2 for the iteration), each further poll ~9.
 */
const EVENTS_FIRST_POLL = 28;
const EVENTS_PER_EXTRA_POLL = 9;
/**
 * The run's own events around the Map: ExecutionStarted, Plan (5), the Map's entered/started/succeeded/exited,
 * Summarize (5), the Choice (2), the Succeed (2), ExecutionSucceeded.
 */
const RUN_EVENTS = 20;

const REGIONS = ['us-east-1', 'eu-west-1'] as const;
const BOTS_PER_TENANT = 100;
const MEMBERS = [
  { id: '222233334444', name: 'prod', roleArn: 'arn:aws:iam::222233334444:role/BotVaultBackup', externalId: 'botvault-prod-7f3a9c' },
  { id: '333344445555', name: 'staging', roleArn: 'arn:aws:iam::333344445555:role/BotVaultBackup', externalId: 'botvault-staging-41d2e8' },
] as const;
const ACCOUNT_IDS = [HOME.accountId, ...MEMBERS.map((m) => m.id)];

interface Variant {
  readonly label: string;
  /** The discovery target's `versions` and `locales`. */
  readonly versions?: 'latest';
  readonly locales?: boolean;
  /**
   * The most bots a ListBots page holds (the simulator's maxPageSize). Lex takes maxResults 1–1000 and the
   * provider asks 100; 1000 lets the provider's 100 decide, as Lex does; 10 is a service that pages short.
   */
  readonly listPageSize: number;
  readonly rounds: number;
}

/** One Plan invocation as the child measured it, with the calls the simulators recorded for it. */
interface Invocation {
  readonly round: number;
  readonly cold: boolean;
  readonly ms: number;
  readonly jobs: number;
  readonly outputBytes: number;
  /** Lex calls by operation, and by `<account>/<region> <op>`; STS calls by action. */
  readonly lex: Record<string, number>;
  readonly lexAt: Record<string, number>;
  readonly sts: Record<string, number>;
}

interface Spread {
  readonly median: number;
  readonly min: number;
  readonly max: number;
  readonly samples: number[];
}

interface AccountsCase {
  readonly label: string;
  readonly versions: string;
  readonly locales: boolean;
  readonly listPageSize: number;
  readonly bots: number;
  readonly jobs: number;
  readonly coldMs: Spread;
  readonly warmMs?: Spread;
  /** The child's import of the handler module (the Lambda's init), ms, median. */
  readonly importMs: number;
  /** Calls of a cold invocation (roles assumed) and of a warm one. */
  readonly coldCalls: { readonly lex: Record<string, number>; readonly lexAt: Record<string, number>; readonly sts: Record<string, number> };
  readonly warmCalls?: { readonly lex: Record<string, number>; readonly sts: Record<string, number> };
  /** JSON.stringify(PlanOutput) in UTF-8 bytes, and what the state after Plan is (`{"plan": …}` for an empty execution input). */
  readonly outputBytes: number;
  readonly stateAfterPlanBytes: number;
  readonly bytesPerJob: number;
  /** How many jobs at this mix's bytes per job fit in Plan's output within 262,144 bytes. */
  readonly jobsWithinLimit: number;
  readonly invocations: Invocation[];
}

export interface AccountsBenchResult {
  readonly accounts: number;
  readonly regions: number;
  readonly botsPerAccountRegion: number;
  readonly stateLimitBytes: number;
  readonly cases: AccountsCase[];
  /** The main case's job bytes by where the job lives (home region short ids with a legacy key; home elsewhere; member accounts). */
  readonly bytesPerJobByPlace: Record<string, { jobs: number; bytesPerJob: number }>;
  /** Jobs of member accounts only (the long form) within Plan's 262,144 bytes. */
  readonly memberJobsWithinLimit: number;
  /**
   * The state after the Map, `{"plan": {…, "jobs": [results]}}`, for the main case's jobs, with results as StoreArchive
   * returns them (S3 version ids of 32 characters, Lex export ids of 10): bytes, bytes per job, jobs that fit.
   */
  readonly afterMap: { readonly case: string; readonly bytes: number; readonly bytesPerJob: number; readonly jobsWithinLimit: number }[];
  /** The inline Map's history for the main case's jobs at 1 to 5 polls per job. */
  readonly history: { readonly polls: number; readonly eventsPerJob: number; readonly events: number; readonly jobsWithin25000: number }[];
  readonly meanBotNameLength: number;
}

// ---- the estate ----

const TEAMS = ['Billing', 'Claims', 'Support', 'Orders', 'Travel', 'Banking', 'People', 'Service'];
const PURPOSES = ['Assistant', 'Faq', 'Booking', 'Routing', 'Survey'];
const B36 = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ';

/** A Lex-looking bot id (10 upper-case alphanumerics), stable per account, region and index. */
function botIdOf(account: string, region: string, n: number): string {
  const h = createHash('sha256').update(`${account}/${region}/${n}`).digest();
  return [...h.subarray(0, 10)].map((b) => B36[b % 36]).join('');
}

/** Names like "ClaimsBooking-ew1-042" (21 characters on average). */
const botNameOf = (region: string, n: number) =>
  `${TEAMS[n % TEAMS.length]}${PURPOSES[Math.floor(n / TEAMS.length) % PURPOSES.length]}-${region.replace(/^(\w)\w-(\w)\w+-(\d)$/, '$1$2$3')}-${String(n).padStart(3, '0')}`;

function estateBots(account: string, region: string): SimBot[] {
  return Array.from({ length: BOTS_PER_TENANT }, (_, n) => ({
    botId: botIdOf(account, region, n),
    botName: botNameOf(region, n),
    versions: ['1', '2'],
  }));
}

// ---- measuring ----

const count = (items: readonly string[]) => {
  const out: Record<string, number> = {};
  for (const k of items) out[k] = (out[k] ?? 0) + 1;
  return out;
};
const spread = (xs: number[]): Spread => {
  const s = [...xs].sort((a, b) => a - b);
  const mid = s.length >> 1;
  const median = s.length % 2 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
  return { median: round(median), min: round(s[0]!), max: round(s[s.length - 1]!), samples: xs.map(round) };
};
const round = (x: number) => Math.round(x * 10) / 10;
const bytes = (x: unknown) => Buffer.byteLength(JSON.stringify(x), 'utf8');

/** What StoreArchive returns for `job` (store-archive.ts), with AWS-length identifiers: the Map's result per job. */
function resultOf(job: Job, kind: 'first' | 'unchanged' | 'changed'): JobResult {
  const h = createHash('sha256').update(job.key).digest('hex');
  const common = {
    target: job.id,
    provider: job.provider,
    ...(job.name ? { name: job.name } : {}),
    key: job.key,
    // S3 version ids are 32 characters; Lex export ids 10.
    versionId: Buffer.from(h.slice(0, 24), 'hex').toString('base64').replace(/\+/g, '.').replace(/\//g, '_'),
    bytes: 48_213,
    sha256: h,
    exportId: h.slice(0, 10).toUpperCase(),
  };
  if (kind === 'unchanged') return { ...common, status: 'UNCHANGED', restoreInfo: 'unchanged' };
  const line = kind === 'first' ? `${job.name ?? job.id}: first backup` : `${job.name ?? job.id}: `.padEnd(200, 'x');
  return { ...common, status: 'SUCCEEDED', restoreInfo: 'written', changes: line, changeRecord: 'written' };
}

function startChild(env: NodeJS.ProcessEnv, args: object): ChildProcess {
  return spawn(process.execPath, tsxArgs('./accounts.ts', 'child', JSON.stringify(args)), { env, stdio: ['pipe', 'pipe', 'inherit'] });
}

async function runCase(
  v: Variant,
  warm: number,
  sts: Awaited<ReturnType<typeof startStsSimulator>>,
  credentials: SimCredentials,
  log: (line: string) => void,
): Promise<{ c: AccountsCase; output: PlanOutput }> {
  const tenants = Object.fromEntries(
    ACCOUNT_IDS.flatMap((account) =>
      REGIONS.map((region) => [`${account}/${region}`, { bots: estateBots(account, region), maxPageSize: v.listPageSize }]),
    ),
  );
  const estate = await startLexEstate({ credentials, tenants });
  // As the synthesized definition embeds them (lib/constructs/backup-workflow.ts: targets, accounts).
  const config = parseConfig({
    downloadAllowlist: [new URL(estate.url).origin],
    accounts: MEMBERS,
    targets: [
      {
        provider: 'lex',
        discover: true,
        accounts: ['home', 'prod', 'staging'],
        regions: [...REGIONS],
        ...(v.versions ? { versions: v.versions } : {}),
        ...(v.locales ? { locales: true } : {}),
      },
    ],
  });
  const env: NodeJS.ProcessEnv = { ...process.env };
  for (const k of Object.keys(env)) if (/^AWS_/.test(k) || k === 'BOTVAULT_DOWNLOAD_ALLOWLIST') delete env[k];
  Object.assign(env, {
    AWS_ENDPOINT_URL_LEX_MODELS_V2: estate.url,
    AWS_ENDPOINT_URL_STS: sts.url,
    AWS_REGION: 'us-east-1',
    AWS_ACCESS_KEY_ID: HOME.accessKeyId,
    AWS_SECRET_ACCESS_KEY: HOME.secretAccessKey,
    BOTVAULT_ACCOUNT_ID: HOME.accountId,
    AWS_LAMBDA_FUNCTION_NAME: 'BotVault-Plan',
  });
  const invocations: Invocation[] = [];
  const imports: number[] = [];
  let output: PlanOutput | undefined;
  try {
    for (let round = 1; round <= v.rounds; round++) {
      const event = {
        runId: `bench-accounts-${round}`,
        startedAt: new Date().toISOString(),
        targets: config.targets,
        accounts: config.accounts,
        input: {},
      };
      const child = startChild(env, { event, invocations: 1 + warm });
      const exited = new Promise<number | null>((resolve) => child.once('exit', resolve));
      let lexFrom = estate.calls.length;
      let stsFrom = sts.calls.length;
      const lines = createInterface({ input: child.stdout! });
      for await (const line of lines) {
        if (!line.startsWith('@@ ')) continue; // the handler's own log lines
        const m = JSON.parse(line.slice(3)) as { kind: 'import'; ms: number } | { kind: 'plan'; i: number; ms: number; output: PlanOutput };
        if (m.kind === 'import') {
          imports.push(m.ms);
          continue;
        }
        const lexCalls = estate.calls.slice(lexFrom);
        const stsCalls = sts.calls.slice(stsFrom);
        lexFrom = estate.calls.length;
        stsFrom = sts.calls.length;
        output ??= m.output;
        invocations.push({
          round,
          cold: m.i === 0,
          ms: m.ms,
          jobs: m.output.jobs.length,
          outputBytes: bytes(m.output),
          lex: count(lexCalls.map((c) => (c.status === 200 ? c.op : `${c.op} ${c.status}`))),
          lexAt: count(lexCalls.map((c) => `${c.account}/${c.region} ${c.op}`)),
          sts: count(stsCalls),
        });
        child.stdin!.write('next\n');
      }
      const code = await exited;
      if (code !== 0) throw new Error(`Plan child process of round ${round} exited with ${code}`);
    }
  } finally {
    await estate.close();
  }
  if (!output) throw new Error('no Plan output');
  const cold = invocations.filter((i) => i.cold);
  const warmRuns = invocations.filter((i) => !i.cold);
  for (const i of invocations) {
    if (i.jobs !== output.jobs.length || i.outputBytes !== bytes(output))
      throw new Error(`round ${i.round}: the Plan output differs between invocations`);
  }
  const outputBytes = bytes(output);
  const fixed = bytes({ plan: { ...output, jobs: [] } });
  const bytesPerJob = (bytes({ plan: output }) - fixed) / output.jobs.length;
  const c: AccountsCase = {
    label: v.label,
    versions: v.versions ?? 'DRAFT',
    locales: Boolean(v.locales),
    listPageSize: v.listPageSize,
    bots: ACCOUNT_IDS.length * REGIONS.length * BOTS_PER_TENANT,
    jobs: output.jobs.length,
    coldMs: spread(cold.map((i) => i.ms)),
    ...(warmRuns.length ? { warmMs: spread(warmRuns.map((i) => i.ms)) } : {}),
    importMs: spread(imports).median,
    coldCalls: { lex: cold[0]!.lex, lexAt: cold[0]!.lexAt, sts: cold[0]!.sts },
    ...(warmRuns.length ? { warmCalls: { lex: warmRuns[0]!.lex, sts: warmRuns[0]!.sts } } : {}),
    outputBytes,
    stateAfterPlanBytes: bytes({ plan: output }),
    bytesPerJob: round(bytesPerJob),
    jobsWithinLimit: Math.floor((STATE_LIMIT_BYTES - fixed) / bytesPerJob),
    invocations,
  };
  const calls = (r: Record<string, number>) =>
    Object.entries(r)
      .map(([op, n]) => `${op} ${n}`)
      .join(', ');
  log(
    `  ${v.label.padEnd(44)} ${c.jobs} jobs; Plan cold ${c.coldMs.median} ms (${c.coldMs.min}–${c.coldMs.max}), warm ${c.warmMs?.median ?? '-'} ms; ` +
      `cold calls: ${calls(c.coldCalls.lex)}, STS ${calls(c.coldCalls.sts) || 'none'}; output ${outputBytes} bytes (${c.bytesPerJob} a job)`,
  );
  return { c, output };
}

export async function benchAccounts(log: (line: string) => void): Promise<AccountsBenchResult> {
  const rounds = Number(process.env.BENCH_ACCOUNTS_ROUNDS ?? '5');
  const warm = Number(process.env.BENCH_ACCOUNTS_WARM ?? '3');
  const credentials = new SimCredentials();
  // The member template's backup roles: trusted by the functions' role, with the external ID (lib/constructs/member-account-role.ts).
  const sts = await startStsSimulator({
    credentials,
    roles: MEMBERS.map((m) => ({ roleArn: m.roleArn, trustedPrincipals: [HOME.roleArn], externalId: m.externalId })),
  });
  const variants: Variant[] = [
    { label: 'DRAFT, ListBots pages of 100', listPageSize: 1000, rounds },
    { label: 'DRAFT, ListBots pages of 10 (a short-paging Lex)', listPageSize: 10, rounds: 3 },
    { label: 'versions: "latest" (ListBotVersions per bot)', versions: 'latest', listPageSize: 1000, rounds: 3 },
    { label: 'locales: true (ListBotLocales per bot)', locales: true, listPageSize: 1000, rounds: 3 },
  ];
  const cases: AccountsCase[] = [];
  let main: PlanOutput | undefined;
  try {
    for (const v of variants) {
      const { c, output } = await runCase(v, warm, sts, credentials, log);
      cases.push(c);
      main ??= output;
    }
  } finally {
    await sts.close();
  }
  const jobs = main!.jobs;
  const place = (j: Job) =>
    j.spec.account === HOME.accountId
      ? j.spec.region === 'us-east-1'
        ? 'home account, home region'
        : 'home account, other region'
      : 'member account';
  const byPlace: Record<string, { jobs: number; bytesPerJob: number }> = {};
  for (const name of ['home account, home region', 'home account, other region', 'member account']) {
    const of = jobs.filter((j) => place(j) === name);
    byPlace[name] = { jobs: of.length, bytesPerJob: round(of.reduce((n, j) => n + bytes(j) + 1, 0) / of.length) };
  }
  const fixed = bytes({ plan: { ...main!, jobs: [] } });
  const memberJobsWithinLimit = Math.floor((STATE_LIMIT_BYTES - fixed) / byPlace['member account']!.bytesPerJob);
  const afterMap = (['first', 'unchanged', 'changed'] as const).map((kind) => {
    // The Map's results replace the job list (lib/constructs/backup-workflow.ts, resultPath $.plan.jobs).
    const state = { plan: { ...main!, jobs: jobs.map((j) => resultOf(j, kind)) } };
    const total = bytes(state);
    const empty = bytes({ plan: { ...main!, jobs: [] } });
    const perJob = (total - empty) / jobs.length;
    return {
      case: { first: 'every bot a first backup', unchanged: 'every bot unchanged', changed: 'every bot changed, 200-byte change line' }[kind],
      bytes: total,
      bytesPerJob: round(perJob),
      jobsWithinLimit: Math.floor((STATE_LIMIT_BYTES - empty) / perJob),
    };
  });
  const history = [1, 2, 3, 4, 5].map((polls) => {
    const eventsPerJob = EVENTS_FIRST_POLL + EVENTS_PER_EXTRA_POLL * (polls - 1);
    return {
      polls,
      eventsPerJob,
      events: RUN_EVENTS + eventsPerJob * jobs.length,
      jobsWithin25000: Math.floor((HISTORY_EVENTS - RUN_EVENTS) / eventsPerJob),
    };
  });
  const names = jobs.map((j) => j.name ?? '');
  return {
    accounts: ACCOUNT_IDS.length,
    regions: REGIONS.length,
    botsPerAccountRegion: BOTS_PER_TENANT,
    stateLimitBytes: STATE_LIMIT_BYTES,
    cases,
    bytesPerJobByPlace: byPlace,
    memberJobsWithinLimit,
    afterMap,
    history,
    meanBotNameLength: round(names.reduce((n, s) => n + s.length, 0) / names.length),
  };
}

/** The section run.ts prints (and this file alone). */
export function accountsTable(r: AccountsBenchResult): string[] {
  const kB = (b: number) => `${b.toLocaleString('en-US')} B`;
  const pct = (b: number) => `${Math.round((b / STATE_LIMIT_BYTES) * 100)}%`;
  const ms = (s: Spread | undefined) => (s ? `${s.median} (${s.min}–${s.max})` : '-');
  const calls = (x: Record<string, number>) =>
    Object.entries(x)
      .map(([op, n]) => `${op} ${n}`)
      .join(', ') || 'none';
  const main = r.cases[0]!;
  const perPlace = Object.entries(main.coldCalls.lexAt)
    .map(([k, n]) => `${k.replace(/ ListBots$/, '')} ${n}`)
    .join(', ');
  return [
    '',
    `Discovery: ${r.accounts} accounts × ${r.regions} regions × ${r.botsPerAccountRegion} bots (the real Plan handler in a fresh child process per round; STS AssumeRole and a Lex per account/region, SigV4 verified):`,
    '',
    '| discovery | jobs | Plan cold ms: median (min–max) | Plan warm ms | Lex calls, cold | STS calls: cold / warm | Plan output (of 262,144 B) | bytes per job | jobs within 256 KiB at this mix |',
    '|---|---|---|---|---|---|---|---|---|',
    ...r.cases.map(
      (c) =>
        `| ${c.label} | ${c.jobs} | ${ms(c.coldMs)} | ${ms(c.warmMs)} | ${calls(c.coldCalls.lex)} | ${calls(c.coldCalls.sts)} / ${c.warmCalls ? calls(c.warmCalls.sts) : '-'} | ${kB(c.outputBytes)} (${pct(c.outputBytes)}) | ${c.bytesPerJob} | ${c.jobsWithinLimit} |`,
    ),
    '',
    `ListBots pages by account/region (first case, cold): ${perPlace}. Handler import (the Lambda's init) ${main.importMs} ms, median. Bot names ${r.meanBotNameLength} characters on average.`,
    `Bytes per job by where it lives: ${Object.entries(r.bytesPerJobByPlace)
      .map(([k, v]) => `${k} ${v.bytesPerJob} (${v.jobs} jobs)`)
      .join(', ')}; member-account jobs alone: ${r.memberJobsWithinLimit} within Plan's 256 KiB.`,
    '',
    `| state after the Map (${main.jobs} results, which replace the job list; either mapMode) | bytes (of 262,144) | bytes per job | jobs within 256 KiB |`,
    '|---|---|---|---|',
    ...r.afterMap.map((a) => `| ${a.case} | ${kB(a.bytes)} (${pct(a.bytes)}) | ${a.bytesPerJob} | ${a.jobsWithinLimit} |`),
    '',
    `| polls per job (inline Map) | events per job | events for ${main.jobs} jobs (of 25,000) | jobs within 25,000 |`,
    '|---|---|---|---|',
    ...r.history.map(
      (h) =>
        `| ${h.polls} | ${h.eventsPerJob} | ${h.events.toLocaleString('en-US')}${h.events > HISTORY_EVENTS ? ' (over)' : ''} | ${h.jobsWithin25000} |`,
    ),
  ];
}

// ---- the child: one Plan container ----

async function child(args: { event: unknown; invocations: number }): Promise<void> {
  const say = (m: object) => process.stdout.write(`@@ ${JSON.stringify(m)}\n`);
  const input = createInterface({ input: process.stdin });
  const next = input[Symbol.asyncIterator]();
  const t0 = performance.now();
  const { handler } = await import('../../lambdas/plan/handler');
  say({ kind: 'import', ms: performance.now() - t0 });
  for (let i = 0; i < args.invocations; i++) {
    const start = performance.now();
    const output = await handler(args.event);
    say({ kind: 'plan', i, ms: performance.now() - start, output });
    await next.next();
  }
  input.close();
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const [mode, arg] = process.argv.slice(2);
  const done = mode === 'child' ? child(JSON.parse(arg!)) : benchAccounts(console.log).then((r) => console.log(accountsTable(r).join('\n')));
  done.then(
    () => process.exit(0),
    (err: unknown) => {
      process.stderr.write(`${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
      process.exit(1);
    },
  );
}
