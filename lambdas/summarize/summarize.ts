/**
 * Summarize: writes the run manifest (the list of job results plus timing) to
 * `runs/<yyyy>/<mm>/<dd>/<runId>.json`, emits the run's metrics, and returns
 * the counts the final Choice state uses to fail the execution when any job
 * failed (a Map whose items all caught their errors would otherwise succeed
 * and no alarm would fire).
 *
 * What changed (issue 15): each new version's job result carries its bot's
 * one-line change summary; the run's line "2 of 7 bots changed: …" goes
 * into the failed-run message (the execution's cause, which the failed-run
 * rule mails) and, for a run without failures, into a notification of its
 * own on the alarm topic, unless config `notifications.changes` is false.
 * A notification that cannot be published is logged and counted
 * (ChangeNotificationsFailed); it never fails a run whose backups are stored.
 */
import { createHash } from 'node:crypto';
import { manifestKey, type RunManifest } from '../../lib/core/run-manifest';
import { PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { PublishCommand, type SNSClient } from '@aws-sdk/client-sns';
import { MetricUnit } from '@aws-lambda-powertools/metrics';
import type { z } from 'zod/mini';
import type { JobResult, SummarizeOutput, summarizeInputSchema } from '../../lib/core/contracts';
import { InvalidInputError } from '../../lib/core/errors';
import { logger } from '../../lib/core/logger';
import { type MacKey, macMetadata } from '../../lib/core/mac';
import { MAC_METADATA, RUN_ID_METADATA, SHA256_METADATA } from '../../lib/core/names';
import { headerSafe } from '../shared/restore-info';

export type SummarizeInput = z.output<typeof summarizeInputSchema>;

/** The part of Powertools Metrics this needs. */
interface MetricsSink {
  addMetric(name: string, unit: (typeof MetricUnit)[keyof typeof MetricUnit], value: number): unknown;
  publishStoredMetrics(): unknown;
}

export interface SummarizeDeps {
  readonly s3: S3Client;
  readonly bucket: string;
  readonly metrics: MetricsSink;
  /** @default () => new Date() */
  readonly now?: () => Date;
  /** The stack's HMAC key (BOTVAULT_MAC_KEY_ID): the manifest carries its MAC (lib/core/mac.ts). @default none (tests of other concerns) */
  readonly mac?: MacKey;
  /** Where the run's change notification goes (BOTVAULT_CHANGE_TOPIC_ARN). @default none: changes are not notified, nor named in the failure message */
  readonly changes?: { readonly sns: SNSClient; readonly topicArn: string };
}

/** How many failed targets the one-line message names before "and N more" (the Fail cause has a size limit). */
const MAX_NAMED = 20;
/** The longest changes line in the failed-run message (the execution's cause). */
const MAX_CHANGES_IN_CAUSE = 2000;
/** SNS Publish takes at most 256 KB; the notification keeps well under it. */
const MAX_NOTIFICATION_BYTES = 200 * 1024;

/** "2 of 7 bots changed: Alpha (en_US): intent Cancel added; Bravo: first backup", or undefined when none did. */
function changesLine(results: readonly JobResult[]): string | undefined {
  const changed = results.filter((r) => r.status === 'SUCCEEDED' && r.changes);
  if (!changed.length) return undefined;
  return `${changed.length} of ${results.length} bots changed: ${changed.map((r) => r.changes).join('; ')}`;
}

/** At most `max` characters, ASCII `...` marking a cut (the Subject must stay ASCII). */
const clip = (text: string, max: number) => (text.length > max ? `${text.slice(0, max - 3)}...` : text);

/** Publishes the run's change notification; failures are logged and counted, never thrown. */
async function notifyChanges(
  deps: SummarizeDeps,
  input: SummarizeInput,
  line: string,
  manifest: string,
  changed: number,
): Promise<'published' | 'failed'> {
  const { sns, topicArn } = deps.changes!;
  // Subject: ASCII, no line breaks, under 100 characters (SNS Publish); a run id is ASCII already.
  const subject = clip(`BotVault: ${line.slice(0, line.indexOf(':'))} (run ${input.runId})`.replace(/[^\x20-\x7e]/g, '?'), 99);
  const body = Buffer.from(`${line}\n\nRun ${input.runId} (${input.trigger}); manifest: ${manifest}\n`, 'utf8');
  const message = body.length > MAX_NOTIFICATION_BYTES ? `${body.subarray(0, MAX_NOTIFICATION_BYTES).toString('utf8')}…` : body.toString('utf8');
  try {
    await sns.send(new PublishCommand({ TopicArn: topicArn, Subject: subject, Message: message }));
    logger.info('Change notification published', { runId: input.runId, changed });
    return 'published';
  } catch (err) {
    logger.error('Could not publish the change notification; the run and its manifest are stored', {
      runId: input.runId,
      error: (err as Error).name,
      reason: (err as Error).message,
    });
    deps.metrics.addMetric('ChangeNotificationsFailed', MetricUnit.Count, 1);
    return 'failed';
  }
}

export async function summarize(input: SummarizeInput, deps: SummarizeDeps): Promise<SummarizeOutput> {
  const started = new Date(input.startedAt);
  if (Number.isNaN(started.getTime())) throw new InvalidInputError(`startedAt: "${input.startedAt}" is not an ISO 8601 timestamp.`);
  const finished = (deps.now ?? (() => new Date()))();

  const count = (status: JobResult['status']) => input.results.filter((r) => r.status === status).length;
  const counts = { total: input.results.length, succeeded: count('SUCCEEDED'), unchanged: count('UNCHANGED'), failed: count('FAILED') };
  const failedTargets = input.results.filter((r) => r.status === 'FAILED').map((r) => r.target);
  const bytesStored = input.results.reduce((sum, r) => sum + (r.status === 'SUCCEEDED' ? (r.bytes ?? 0) : 0), 0);
  const durationSeconds = Math.max(0, Math.round((finished.getTime() - started.getTime()) / 1000));

  const manifest: RunManifest = {
    runId: input.runId,
    trigger: input.trigger,
    startedAt: started.toISOString(),
    finishedAt: finished.toISOString(),
    durationSeconds,
    counts,
    results: input.results,
  };
  const key = manifestKey(input.runId, started);
  const body = JSON.stringify(manifest, null, 2);
  const metadata: Record<string, string> = {
    [SHA256_METADATA]: createHash('sha256').update(body).digest('hex'),
    [RUN_ID_METADATA]: headerSafe(input.runId),
  };
  if (deps.mac) {
    metadata[MAC_METADATA] = await macMetadata(deps.mac, {
      kind: 'manifest',
      key,
      bytes: Buffer.byteLength(body),
      sha256: metadata[SHA256_METADATA]!,
      metadata,
    });
  }
  await deps.s3.send(new PutObjectCommand({ Bucket: deps.bucket, Key: key, Body: body, ContentType: 'application/json', Metadata: metadata }));

  const changes = deps.changes ? changesLine(input.results) : undefined;
  const changed = input.results.filter((r) => r.status === 'SUCCEEDED' && r.changes).length;
  if (changes && counts.failed === 0) await notifyChanges(deps, input, changes, `s3://${deps.bucket}/${key}`, changed);
  deps.metrics.addMetric('JobsSucceeded', MetricUnit.Count, counts.succeeded);
  deps.metrics.addMetric('JobsFailed', MetricUnit.Count, counts.failed);
  deps.metrics.addMetric('JobsUnchanged', MetricUnit.Count, counts.unchanged);
  deps.metrics.addMetric('BytesStored', MetricUnit.Bytes, bytesStored);
  deps.metrics.addMetric('RunDurationSeconds', MetricUnit.Seconds, durationSeconds);
  deps.metrics.publishStoredMetrics();

  const named =
    failedTargets.slice(0, MAX_NAMED).join(', ') + (failedTargets.length > MAX_NAMED ? `, and ${failedTargets.length - MAX_NAMED} more` : '');
  const message =
    counts.failed > 0
      ? `${counts.failed} of ${counts.total} backup jobs failed (${named})${changes ? `; ${clip(changes, MAX_CHANGES_IN_CAUSE)}` : ''}; run manifest: ${key}`
      : `${counts.succeeded} of ${counts.total} backup jobs succeeded${counts.unchanged ? `, ${counts.unchanged} unchanged` : ''}; run manifest: ${key}`;
  logger.info('Run summarized', { runId: input.runId, ...counts, bytesStored, durationSeconds, manifestKey: key });
  return { manifestKey: key, ...counts, failedTargets, message };
}
