/**
 * S3 requests per StoreArchive job, counted by a proxy between the handler
 * and the server (test/simulators/s3-fault-proxy.ts records every request
 * that reaches it, retries included), for the cases a night's run meets:
 *  - a bot backed up for the first time (no current version);
 *  - a changed bot (a current version with other content);
 *  - an unchanged bot;
 * each for a Lex export that carries restore details (so a restore sidecar
 * is written beside the archive) and for one that does not. The archives
 * are real-format Lex exports (test/generators/lex-export.ts), written by
 * the StoreArchive core (lambdas/shared/archive-store.ts) with the real Lex
 * provider's restore details (from the Lex simulator), to s3rver.
 */
import { Readable } from 'node:stream';
import { LexModelsV2Client } from '@aws-sdk/client-lex-models-v2';
import { KMSClient } from '@aws-sdk/client-kms';
import { writeArchive } from '../../lambdas/shared/archive-store';
import { kmsMacKey } from '../../lib/core/mac';
import { startKmsSimulator } from '../simulators/kms-simulator';
import { lexJob } from '../../lib/providers/lex/keys';
import { providerFor } from '../../lib/providers/registry';
import { lexExportZip, sampleLexBot } from '../generators/lex-export';
import { startLexSimulator } from '../simulators/lex-simulator';
import { startS3FaultProxy } from '../simulators/s3-fault-proxy';
import { createBucket, s3ClientFor, startS3Server } from '../simulators/s3-server';
import { TEST_HOME } from '../helpers/home';

export interface RequestCase {
  readonly case: string;
  /** S3 operations by name, e.g. {"HeadObject": 1, "PutObject": 2}; the sidecar's own are named "(sidecar)". */
  readonly requests: Record<string, number>;
  readonly total: number;
  /** KMS calls of the job (GenerateMac for what it writes, VerifyMac for a current version it calls unchanged): not S3 requests, priced apart. */
  readonly kms: number;
  readonly status: string;
}

/** The S3 operation a proxied request is, from its method, query and key. */
function operation(r: { method: string; path: string; query: string; copy: boolean }): string {
  const sidecar = r.path.endsWith('.restore.json') ? ' (sidecar)' : r.path.endsWith('.changes.json') ? ' (change record)' : '';
  const q = new URLSearchParams(r.query);
  const op =
    r.method === 'HEAD'
      ? 'HeadObject'
      : r.method === 'GET'
        ? 'GetObject'
        : r.method === 'DELETE'
          ? q.has('uploadId')
            ? 'AbortMultipartUpload'
            : 'DeleteObject'
          : r.method === 'POST'
            ? q.has('uploads')
              ? 'CreateMultipartUpload'
              : 'CompleteMultipartUpload'
            : r.copy
              ? q.has('partNumber')
                ? 'UploadPartCopy'
                : 'CopyObject'
              : q.has('partNumber')
                ? 'UploadPart'
                : 'PutObject';
  return `${op}${sidecar}`;
}

export async function benchRequests(log: (line: string) => void): Promise<RequestCase[]> {
  const server = await startS3Server();
  const proxy = await startS3FaultProxy(server.endpoint);
  const s3 = s3ClientFor(proxy.url);
  const bucket = 'bench-requests';
  await createBucket(server.endpoint, bucket);
  // The restore details come from the Lex API (DescribeBot, aliases, tags): the simulator answers them.
  const sim = await startLexSimulator({ bots: ['REQSBOT001', 'REQSBOT002'].map((botId) => ({ botId, botName: 'OrderFlowers' })) });
  const lexClient = new LexModelsV2Client({
    region: 'us-east-1',
    endpoint: sim.url,
    credentials: { accessKeyId: 'bench', secretAccessKey: 'bench' },
  });
  const lex = providerFor('lex', { lex: lexClient, secrets: async () => '' });
  const kms = await startKmsSimulator();
  const kmsClient = new KMSClient({ region: 'us-east-1', endpoint: kms.url, credentials: { accessKeyId: 'bench', secretAccessKey: 'bench' } });
  const mac = kmsMacKey(kmsClient, kms.createKey());
  const results: RequestCase[] = [];
  try {
    for (const withSidecar of [true, false]) {
      const botId = withSidecar ? 'REQSBOT001' : 'REQSBOT002';
      const job = lexJob(TEST_HOME, { kind: 'bot', botId, botVersion: 'DRAFT', fileFormat: 'LexJson' });
      const before = await lexExportZip(sampleLexBot(botId, 'OrderFlowers', ['OrderFlowers']), { mtime: new Date('2026-12-01T03:00:00Z'), seed: 1 });
      const after = await lexExportZip(sampleLexBot(botId, 'OrderFlowers', ['OrderFlowers', 'CancelOrder']), {
        mtime: new Date('2026-12-02T03:00:00Z'),
        seed: 2,
      });
      // Unchanged: the same bot exported again the next night (other timestamps, entry and key order), as Lex does.
      const again = await lexExportZip(sampleLexBot(botId, 'OrderFlowers', ['OrderFlowers', 'CancelOrder']), {
        mtime: new Date('2026-12-03T03:00:00Z'),
        seed: 3,
      });
      const steps: [string, Buffer][] = [
        ['first backup', before],
        ['changed', after],
        ['unchanged', again],
      ];
      for (const [name, zip] of steps) {
        const from = proxy.requests.length;
        const kmsFrom = kms.calls.length;
        const stored = await writeArchive({
          mac,
          s3,
          bucket,
          job,
          runId: `bench-${name.replace(/ /g, '-')}`,
          exportId: 'bench',
          body: Readable.from([zip]),
          contentLength: zip.length,
          ...(withSidecar && lex.restoreInfo ? { restoreDetails: (archive) => lex.restoreInfo!(job, archive) } : {}),
        });
        const requests: Record<string, number> = {};
        for (const r of proxy.requests.slice(from)) requests[operation(r)] = (requests[operation(r)] ?? 0) + 1;
        const total = Object.values(requests).reduce((a, b) => a + b, 0);
        const label = `${name}${withSidecar ? ', with a restore sidecar' : ', no restore details'}`;
        const kmsCalls = kms.calls.length - kmsFrom;
        results.push({ case: label, requests, total, kms: kmsCalls, status: stored.status ?? 'SUCCEEDED' });
        log(
          `  ${label.padEnd(40)} ${String(total).padStart(2)} requests: ${JSON.stringify(requests)}, ${kmsCalls} KMS calls → ${stored.status ?? 'SUCCEEDED'}`,
        );
      }
    }
  } finally {
    s3.destroy();
    lexClient.destroy();
    kmsClient.destroy();
    await kms.close();
    await sim.close();
    await proxy.close();
    await server.close();
  }
  return results;
}
