/**
 * Runs the deep drill on this machine as the deployed stack runs it: the
 * Lambda's environment is taken from the synthesized template (what `cdk
 * synth` gives the DeepDrill function: BOTVAULT_DEEP_DRILL and the rest),
 * the real handler (lambdas/deep-drill/handler.ts) is called with a Lambda
 * context of 15 minutes, and its AWS clients go wherever the standard
 * `AWS_ENDPOINT_URL_<SERVICE>` variables point (the simulators).
 *
 * What CloudWatch would do with the result is done here too: the metrics
 * are read from the handler's own EMF output (Powertools Metrics writes them
 * to stdout, which CloudWatch Logs turns into metrics), and the
 * FindingsAlarm's definition from the template (its metric math, threshold
 * and comparison) is evaluated on them: ALARM or OK, as CloudWatch would
 * decide after the drill's hour. Used by `npm run demo:drill`
 * (scripts/deep-drill.ts) and the deep drill e2e test.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { GetObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { Template } from 'aws-cdk-lib/assertions';
import { buildApp } from '../lib/app';
import { cdkJsonContext } from '../lib/cdk-context';
import type { BotVaultConfig } from '../lib/config/config';
import { syncLogLevel } from '../lib/core/logger';
import type { DeepDrillOutput, DeepDrillReport } from '../lambdas/deep-drill/deep-drill';

type Resource = { Type: string; Properties?: Record<string, unknown> };

/** The DeepDrill function's environment and FindingsAlarm, as `cdk synth` emits them for `config`. */
export function synthesizedDeepDrill(config: BotVaultConfig, region = 'us-east-1', account = '123456789012') {
  const outdir = mkdtempSync(join(tmpdir(), 'botvault-drill-synth-'));
  try {
    const { stack } = buildApp(config, { outdir, context: { ...cdkJsonContext(), 'aws:cdk:bundling-stacks': [] } }, { account, region });
    const resources = Object.entries((Template.fromStack(stack).toJSON() as { Resources: Record<string, Resource> }).Resources);
    const fn = resources.find(
      ([, r]) =>
        r.Type === 'AWS::Lambda::Function' &&
        (r.Properties?.Environment as { Variables?: Record<string, unknown> } | undefined)?.Variables?.BOTVAULT_DEEP_DRILL,
    );
    if (!fn) throw new Error('The synthesized stack has no deep drill function: is deepDrill.enabled true in the config?');
    const variables = (fn[1].Properties!.Environment as { Variables: Record<string, unknown> }).Variables;
    // Only the literal values: the bucket, the keys and the topic are this machine's, set by the caller.
    const environment = Object.fromEntries(Object.entries(variables).filter((e): e is [string, string] => typeof e[1] === 'string'));
    const alarm = resources.find(([id, r]) => r.Type === 'AWS::CloudWatch::Alarm' && id.startsWith('DeepDrillFindingsAlarm'));
    if (!alarm) throw new Error('The synthesized stack has no deep drill findings alarm.');
    const p = alarm[1].Properties as {
      Metrics: { Id: string; Expression?: string; MetricStat?: { Metric: { MetricName: string } }; ReturnData?: boolean }[];
      Threshold: number;
      ComparisonOperator: string;
    };
    return { environment, alarm: { logicalId: alarm[0], metrics: p.Metrics, threshold: p.Threshold, comparison: p.ComparisonOperator } };
  } finally {
    rmSync(outdir, { recursive: true, force: true });
  }
}

/** The alarm's metric math on the drill's metrics: `FILL(a, 0) + FILL(b, 0)` and the like. */
function evaluate(expression: string, values: Record<string, number | undefined>): number {
  const filled = expression.replace(/FILL\(\s*(\w+)\s*,\s*([\d.]+)\s*\)/g, (_m, id: string, fill: string) => String(values[id] ?? Number(fill)));
  if (!/^[\d.\s+]+$/.test(filled)) throw new Error(`Cannot evaluate the alarm's expression locally: ${expression}`);
  return filled.split('+').reduce((sum, n) => sum + Number(n.trim()), 0);
}

export interface LocalDeepDrill {
  readonly output: DeepDrillOutput;
  /** The report as read back from the bucket. */
  readonly report: DeepDrillReport;
  /** Every metric the handler emitted (EMF), by name: the sum of its values. */
  readonly metrics: Record<string, number>;
  /** The FindingsAlarm as CloudWatch would set it on these metrics. */
  readonly alarm: {
    readonly name: string;
    readonly value: number;
    readonly threshold: number;
    readonly state: 'ALARM' | 'OK';
    readonly expression: string;
  };
  /** Everything the handler wrote to stdout and stderr (its logs when POWERTOOLS_LOG_LEVEL allows, its EMF). */
  readonly lines: readonly string[];
  readonly seconds: number;
}

export interface LocalDeepDrillOptions {
  readonly config: BotVaultConfig;
  readonly bucket: string;
  /** The stack's archive HMAC key (the KMS simulator's): the drill verifies archives with it (BOTVAULT_MAC_KEY_ID). */
  readonly macKeyArn: string;
  /**
   * The drill's own HMAC key (a second key of the KMS simulator): its reports and scratch bot records are
   * MACed and verified with it (BOTVAULT_DRILL_MAC_KEY_ID), as the stack's DeepDrillAuthenticationKey.
   */
  readonly drillMacKeyArn: string;
  /** The alarm topic the summary goes to. @default none */
  readonly topicArn?: string;
  /** Polls every 20 ms instead of the configured seconds (simulators answer at once). @default true */
  readonly fast?: boolean;
  /** The invocation's event. @default the schedule's: {"trigger":"deep-drill"} */
  readonly event?: Record<string, unknown>;
  /** @default AWS_REGION or us-east-1 */
  readonly region?: string;
  /** @default BOTVAULT_ACCOUNT_ID or 123456789012 */
  readonly accountId?: string;
}

export async function runDeepDrillLocally(opts: LocalDeepDrillOptions): Promise<LocalDeepDrill> {
  const region = opts.region ?? process.env.AWS_REGION ?? 'us-east-1';
  const account = opts.accountId ?? process.env.BOTVAULT_ACCOUNT_ID ?? '123456789012';
  const { environment, alarm } = synthesizedDeepDrill(opts.config, region, account);
  const settings = JSON.parse(environment.BOTVAULT_DEEP_DRILL!) as Record<string, unknown>;
  if (opts.fast ?? true) settings.pollSeconds = 0.02;
  const env: Record<string, string | undefined> = {
    ...environment,
    BOTVAULT_DEEP_DRILL: JSON.stringify(settings),
    BOTVAULT_BUCKET: opts.bucket,
    BOTVAULT_ACCOUNT_ID: account,
    BOTVAULT_MAC_KEY_ID: opts.macKeyArn,
    BOTVAULT_DRILL_MAC_KEY_ID: opts.drillMacKeyArn,
    BOTVAULT_DEEP_DRILL_TOPIC_ARN: opts.topicArn,
    AWS_REGION: region,
    POWERTOOLS_SERVICE_NAME: 'botvault',
    POWERTOOLS_METRICS_NAMESPACE: 'BotVault',
    // The metrics are what the alarm reads: on, and captured below.
    POWERTOOLS_METRICS_DISABLED: 'false',
  };
  const saved = Object.fromEntries(Object.keys(env).map((k) => [k, process.env[k]]));
  for (const [k, v] of Object.entries(env)) {
    if (v === undefined) delete process.env[k];
    else process.env[k] = v;
  }
  const lines: string[] = [];
  const streams = [process.stdout, process.stderr];
  const writes = streams.map((s) => s.write.bind(s));
  const started = Date.now();
  let output: DeepDrillOutput;
  try {
    const { handler } = await import('../lambdas/deep-drill/handler');
    syncLogLevel();
    streams.forEach((s) => {
      s.write = ((chunk: string | Uint8Array) => {
        lines.push(String(chunk));
        return true;
      }) as typeof s.write;
    });
    const timeoutMs = 15 * 60_000;
    output = await handler(opts.event ?? { trigger: 'deep-drill' }, {
      getRemainingTimeInMillis: () => Math.max(0, timeoutMs - (Date.now() - started)),
    });
  } finally {
    streams.forEach((s, i) => {
      s.write = writes[i]!;
    });
    for (const [k, v] of Object.entries(saved)) {
      if (v === undefined) delete process.env[k];
      else process.env[k] = v;
    }
  }
  const seconds = (Date.now() - started) / 1000;

  // EMF: one JSON line per flush, `_aws.CloudWatchMetrics[].Metrics[].Name` naming the values beside it.
  const metrics: Record<string, number> = {};
  for (const text of lines.join('').split('\n')) {
    if (!text.includes('"_aws"')) continue;
    try {
      const emf = JSON.parse(text) as Record<string, unknown> & { _aws: { CloudWatchMetrics: { Metrics: { Name: string }[] }[] } };
      for (const d of emf._aws.CloudWatchMetrics)
        for (const m of d.Metrics) {
          const v = emf[m.Name];
          const sum = Array.isArray(v) ? v.reduce((a: number, b) => a + Number(b), 0) : Number(v);
          metrics[m.Name] = (metrics[m.Name] ?? 0) + sum;
        }
    } catch {
      // a log line that merely mentions _aws
    }
  }
  const ids = Object.fromEntries(alarm.metrics.filter((m) => m.MetricStat).map((m) => [m.Id, metrics[m.MetricStat!.Metric.MetricName]]));
  const expression = alarm.metrics.find((m) => m.Expression)?.Expression ?? '';
  const value = evaluate(expression, ids);
  const breached = alarm.comparison === 'GreaterThanOrEqualToThreshold' ? value >= alarm.threshold : value > alarm.threshold;

  const s3 = new S3Client({ region, forcePathStyle: true, requestChecksumCalculation: 'WHEN_REQUIRED', responseChecksumValidation: 'WHEN_REQUIRED' });
  try {
    const res = await s3.send(new GetObjectCommand({ Bucket: opts.bucket, Key: output.reportKey }));
    const report = JSON.parse(await res.Body!.transformToString()) as DeepDrillReport;
    return {
      output,
      report,
      metrics,
      alarm: { name: alarm.logicalId, value, threshold: alarm.threshold, state: breached ? 'ALARM' : 'OK', expression },
      lines: lines,
      seconds,
    };
  } finally {
    s3.destroy();
  }
}
