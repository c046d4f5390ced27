/**
 * End-to-end benchmark: the synthesized state machine run locally
 * (lib/local/runner.ts: aws-local-stepfunctions, every Task bound to its real
 * handler) backing up N simulated Lex bots, whose exports each take a fixed
 * latency, into s3rver, with maxConcurrency C. The Lex simulator and s3rver
 * run in a process of their own (servers.ts), as Lex and S3 do not share the
 * Lambdas' CPU in AWS. Waits are real (no `fast`):
 * the first poll comes `firstWaitSeconds` = latency after StartExport, so
 * every export is ready at its first poll.
 *
 * Ideal: no job can finish before its export is ready, and at most C run at
 * once, so no schedule beats ceil(N / C) × latency. Overhead is the
 * execution's wall time (ExecutionStarted to its last event) beyond that.
 *
 * State transitions: Step Functions bills one per state entered, retries
 * included. Counted from the event log: StateEntered + StateRetried events,
 * per Map iteration (a bot's own transitions), plus the run's top-level
 * transitions (Plan, the Map, Summarize, the Choice, the end state) spread
 * over the bots.
 */
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { createInterface } from 'node:readline';
import { parseConfig } from '../../lib/config/config';
import { runLocal, synthesizeDefinition, type EventLog } from '../../lib/local/runner';
import { S3RVER_CREDENTIALS } from '../simulators/s3-server';
import { tsxArgs } from './store';

export interface E2eResult {
  readonly bots: number;
  readonly maxConcurrency: number;
  readonly exportLatencySeconds: number;
  readonly idealSeconds: number;
  readonly wallSeconds: number;
  /** (wall − ideal) / ideal, percent. */
  readonly overheadPercent: number;
  /** Transitions inside one bot's Map iteration: the most any bot needed. */
  readonly transitionsPerBotMax: number;
  /** All transitions of the execution divided by the bots (their share of the top-level states included). */
  readonly transitionsPerBotAllIn: number;
  readonly totalTransitions: number;
  readonly status: string;
  readonly succeeded: number;
  /** JSON bytes of the execution's state right after the Map (jobs and results included). */
  stateBytesAfterMap?: number;
  /** Bytes one bot adds to that state: its job in $.plan.jobs plus its result in $.results. */
  stateBytesPerBot?: number;
  /** How many bots fit in Step Functions' 256 KiB state limit at that rate. */
  botsWithin256KiB?: number;
  /** Mean time per state name, ms (where the overhead goes). */
  meanStateMs?: Record<string, number>;
}

const botId = (n: number) => `BENCHBOT${String(n).padStart(2, '0')}`;
/** Backed up by the warm-up run, so no measured bot finds its own archive already stored. */
const WARM_UP_BOT = 'WARMUPBOT0';

export async function benchE2e(bots: number, maxConcurrency: number, latencySeconds: number, log: (line: string) => void): Promise<E2eResult> {
  const bucket = 'bench-e2e';
  const simBots = [
    ...Array.from({ length: bots }, (_, n) => ({ botId: botId(n), botName: `BenchBot${n}` })),
    { botId: WARM_UP_BOT, botName: 'WarmUp' },
  ];
  const servers = spawn(
    process.execPath,
    tsxArgs('./servers.ts', JSON.stringify({ bots: simBots, exportLatencyMs: latencySeconds * 1000, bucket })),
    {
      stdio: ['ignore', 'pipe', 'inherit'],
    },
  );
  const saved = { ...process.env };
  try {
    const [line] = (await once(createInterface({ input: servers.stdout! }), 'line')) as [string];
    const { lexUrl, s3Endpoint, kmsUrl, macKeyArn } = JSON.parse(line) as { lexUrl: string; s3Endpoint: string; kmsUrl: string; macKeyArn: string };
    Object.assign(process.env, {
      AWS_ENDPOINT_URL_KMS: kmsUrl,
      BOTVAULT_MAC_KEY_ID: macKeyArn,
      AWS_ENDPOINT_URL_LEX_MODELS_V2: lexUrl,
      AWS_ENDPOINT_URL_S3: s3Endpoint,
      AWS_REGION: 'us-east-1',
      AWS_ACCESS_KEY_ID: S3RVER_CREDENTIALS.accessKeyId,
      AWS_SECRET_ACCESS_KEY: S3RVER_CREDENTIALS.secretAccessKey,
    });
    delete process.env.BOTVAULT_DOWNLOAD_ALLOWLIST;
    const configFor = (ids: string[]) =>
      parseConfig({
        maxConcurrency,
        downloadAllowlist: [lexUrl],
        polling: { firstWaitSeconds: latencySeconds, backoffFactor: 2, maxWaitSeconds: 60, budgetSeconds: 600 },
        targets: ids.map((id) => ({ provider: 'lex', botId: id, botVersion: 'DRAFT' })),
      });
    // Warm-up outside the measurement: synthesis (cached per config), handler imports, SDK clients, sockets.
    const config = configFor(Array.from({ length: bots }, (_, n) => botId(n)));
    synthesizeDefinition(config);
    const warm = await runLocal({ config: configFor([WARM_UP_BOT]), bucket, runId: 'bench-warm-up' });
    if (warm.status !== 'SUCCEEDED') throw new Error(`warm-up run ${warm.status}: ${warm.error ?? ''} ${warm.cause ?? ''}`);

    const events: EventLog[] = [];
    const result = await runLocal({ config, bucket, runId: 'bench-e2e', onEvent: (e) => events.push(e) });
    const first = events[0]!.timestamp;
    const last = events[events.length - 1]!.timestamp;
    const wallSeconds = (last - first) / 1000;
    const idealSeconds = Math.ceil(bots / maxConcurrency) * latencySeconds;

    const transitions = events.filter((e) => e.type === 'StateEntered' || e.type === 'StateRetried') as { index?: number }[];
    const perBot = new Map<number, number>();
    for (const t of transitions) if (t.index !== undefined) perBot.set(t.index, (perBot.get(t.index) ?? 0) + 1);
    const e2e: E2eResult = {
      meanStateMs: {},
      bots,
      maxConcurrency,
      exportLatencySeconds: latencySeconds,
      idealSeconds,
      wallSeconds,
      overheadPercent: ((wallSeconds - idealSeconds) / idealSeconds) * 100,
      transitionsPerBotMax: Math.max(...perBot.values()),
      transitionsPerBotAllIn: transitions.length / bots,
      totalTransitions: transitions.length,
      status: result.status,
      succeeded: result.manifest?.counts.succeeded ?? 0,
    };
    if (perBot.size !== bots) throw new Error(`expected ${bots} Map iterations in the event log, found ${perBot.size}`);
    const spent = new Map<string, number[]>();
    const entered = new Map<string, number>();
    for (const e of events) {
      if (e.type !== 'StateEntered' && e.type !== 'StateExited') continue;
      const id = `${e.state.name}#${e.index ?? '-'}`;
      if (e.type === 'StateEntered') entered.set(id, e.timestamp);
      else spent.set(e.state.name, [...(spent.get(e.state.name) ?? []), e.timestamp - (entered.get(id) ?? e.timestamp)]);
    }
    // The parent execution's state after the Map: every job's result, which replaced the job list (backup-workflow.ts), under Step Functions' 256 KiB cap.
    const mapExit = events.find(
      (e): e is Extract<EventLog, { type: 'StateExited' }> =>
        e.type === 'StateExited' && e.state.name === 'BackUpEachTarget' && e.index === undefined,
    );
    const afterMap = (mapExit?.state.output ?? {}) as { plan?: { jobs?: unknown[] }; results?: unknown[] };
    e2e.stateBytesAfterMap = JSON.stringify(afterMap).length;
    e2e.stateBytesPerBot = (JSON.stringify(afterMap.plan?.jobs ?? []).length + JSON.stringify(afterMap.results ?? []).length) / bots;
    e2e.botsWithin256KiB = Math.floor((256 * 1024) / e2e.stateBytesPerBot);
    e2e.meanStateMs = Object.fromEntries([...spent].map(([name, ms]) => [name, Math.round(ms.reduce((a, b) => a + b, 0) / ms.length)]));
    log(
      `  ${bots} bots, maxConcurrency ${maxConcurrency}, export latency ${latencySeconds} s: wall ${wallSeconds.toFixed(2)} s vs ideal ${idealSeconds} s ` +
        `(+${e2e.overheadPercent.toFixed(1)}%), ${e2e.transitionsPerBotMax} transitions per bot (${e2e.transitionsPerBotAllIn.toFixed(2)} with the run's own), ${result.status}`,
    );
    return e2e;
  } finally {
    for (const key of Object.keys(process.env)) if (!(key in saved)) delete process.env[key];
    Object.assign(process.env, saved);
    servers.kill('SIGTERM');
    await once(servers, 'exit');
  }
}
