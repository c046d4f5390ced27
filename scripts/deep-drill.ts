/**
 * `npm run demo:drill [-- --lossy]`: the deep drill on the demo's bucket, with
 * no AWS account (README "Proving restores").
 *
 * Starts the demo's simulators (scripts/local-estate.ts: five Lex V2 bots,
 * one exported with a password, two Kore.ai bots; Secrets Manager, KMS with
 * the stack's HMAC key and the drill's own, SNS with the alarm topic,
 * Service Quotas, S3), backs the bots up with the synthesized workflow
 * (runLocal), then runs the deep drill's real handler as the deployed stack would
 * (scripts/deep-drill-local.ts) over every bot archive, and prints the
 * report: per archive imported, built, re-exported, identical or what was
 * lost, the scratch bot and what became of it, the calls and the time; the
 * metrics, the FindingsAlarm's state, and the notification the topic got.
 *
 * --report-file FILE: also write the report to FILE.
 * --lossy: the simulators' imports drop sample utterances (Lex: the last 2
 * of every OrderFlowers intent; Kore.ai: the last utterance of every dialog
 * of the import that creates the host's scratch bot), as users report real
 * imports do. The drill must report exactly
 * what the simulators dropped, and the alarm must fire.
 *
 * S3: OpenStack Swift when BOTVAULT_SWIFT_S3_ENDPOINT is set (versioned, as
 * the deployed bucket), otherwise s3rver in-process.
 */
import { randomBytes } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { CreateBucketCommand, PutBucketVersioningCommand } from '@aws-sdk/client-s3';
import { LexModelsV2Client, paginateListBots } from '@aws-sdk/client-lex-models-v2';
import { parseConfig } from '../lib/config/config';
import { runLocal } from '../lib/local/runner';
import { SCRATCH_BOT_PREFIX } from '../lib/providers/drill';
import { koreaiScratchBotName } from '../lib/providers/koreai/drill';
import { startKmsForHandlers } from '../test/simulators/kms-simulator';
import { startKoreSimulator } from '../test/simulators/koreai-simulator';
import { type LexFaults, startLexSimulator } from '../test/simulators/lex-simulator';
import { s3ClientFor, startS3Server } from '../test/simulators/s3-server';
import { startSecretsSimulator } from '../test/simulators/secrets-simulator';
import { startServiceQuotasSimulator } from '../test/simulators/service-quotas-simulator';
import { startSnsSimulator } from '../test/simulators/sns-simulator';
import { swiftS3FromEnv } from '../test/simulators/swift';
import { runDeepDrillLocally } from './deep-drill-local';
import { estateSecrets, estateTargets, KORE_BOTS, LEX_BOTS } from './local-estate';

const DRILL_ROLE = 'arn:aws:iam::123456789012:role/BotVaultDrillBot';
const DRILL_APP_SECRET = 'botvault/koreai-drill-demo';

async function main(): Promise<number> {
  const lossy = process.argv.includes('--lossy');
  const { koreApp, secrets: secretValues } = estateSecrets();
  // The drill's own Kore.ai app: an Admin Console app (Bot Import, Bot Export), fresh and never printed.
  const drillApp = { clientId: 'cs-demo-botvault-drill', clientSecret: randomBytes(24).toString('base64url'), admin: true };
  // Lex takes its time as it does for real (shortened): imports, locale builds, exports.
  const lexFaults: LexFaults = { exportLatencyMs: 300, importLatencyMs: 300, buildLatencyMs: 600 };
  const lex = await startLexSimulator({ bots: LEX_BOTS, defaultFaults: lexFaults });
  const kore = await startKoreSimulator({ apps: [koreApp, drillApp], bots: KORE_BOTS });
  for (const bot of KORE_BOTS) kore.setFaults(bot.botId, { exportLatencyMs: 300 });
  const secrets = await startSecretsSimulator({
    secrets: { ...secretValues, [DRILL_APP_SECRET]: JSON.stringify({ clientId: drillApp.clientId, clientSecret: drillApp.clientSecret }) },
  });
  const mac = await startKmsForHandlers();
  const sns = await startSnsSimulator();
  const quotas = await startServiceQuotasSimulator();
  const swift = process.env.BOTVAULT_SWIFT_S3_ENDPOINT ? swiftS3FromEnv() : undefined;
  const local = swift ? undefined : await startS3Server();
  const endpoint = swift?.endpoint ?? local!.endpoint;
  const s3 = swift?.client ?? s3ClientFor(endpoint);
  const lexClient = new LexModelsV2Client({ endpoint: lex.url, region: 'us-east-1', credentials: { accessKeyId: 'demo', secretAccessKey: 'demo' } });
  try {
    Object.assign(process.env, {
      AWS_ENDPOINT_URL_LEX_MODELS_V2: lex.url,
      AWS_ENDPOINT_URL_SECRETS_MANAGER: secrets.url,
      AWS_ENDPOINT_URL_SNS: sns.url,
      AWS_ENDPOINT_URL_SERVICE_QUOTAS: quotas.url,
      AWS_ENDPOINT_URL_S3: endpoint,
      AWS_REGION: 'us-east-1',
      AWS_ACCESS_KEY_ID: swift ? process.env.BOTVAULT_SWIFT_S3_ACCESS_KEY : 'S3RVER',
      AWS_SECRET_ACCESS_KEY: swift ? process.env.BOTVAULT_SWIFT_S3_SECRET_KEY : 'S3RVER',
    });
    const bucket = `botvault-drill-demo-${randomBytes(4).toString('hex')}`;
    await s3.send(new CreateBucketCommand({ Bucket: bucket }));
    await s3.send(new PutBucketVersioningCommand({ Bucket: bucket, VersioningConfiguration: { Status: 'Enabled' } })).catch(() => undefined);

    const config = parseConfig({
      stackName: 'BotVaultDemo',
      maxConcurrency: 4,
      polling: { firstWaitSeconds: 5, backoffFactor: 2, maxWaitSeconds: 30, budgetSeconds: 600 },
      downloadAllowlist: [lex.url, kore.url],
      targets: estateTargets(kore.url),
      deepDrill: { enabled: true, sample: 20, concurrency: 2, lexBotRoleArn: DRILL_ROLE, koreaiCredentialsSecret: DRILL_APP_SECRET },
    });
    console.log(
      `BotVault deep drill demo${lossy ? ' (--lossy: imports drop sample utterances)' : ''}: Lex V2 ${lex.url}, Kore.ai ${kore.url}, S3 ${swift ? '(Swift, versioned)' : '(s3rver)'} ${endpoint}, bucket ${bucket}\n`,
    );
    const backup = await runLocal({ config, bucket, fast: true });
    console.log(`== backup run ${backup.runId}: ${backup.status}, ${backup.manifest?.counts.succeeded ?? 0} archives stored`);
    if (backup.status !== 'SUCCEEDED') return 1;

    if (lossy) {
      lexFaults.lossyImport = { dropUtterancesPerIntent: 2, intents: ['OrderFlowers'] };
      kore.newBotFaults.lossyImport = { dropUtterancesPerDialog: 1 };
      // Kore.ai's scratch bot of this host, once a drill made it: its imports lose the same.
      const scratch = kore.botIdByName(koreaiScratchBotName(new URL(kore.url).host));
      if (scratch) kore.setFaults(scratch, { lossyImport: kore.newBotFaults.lossyImport });
    }
    // The drill's reports and scratch bot records: its own key, as the stack's DeepDrillAuthenticationKey.
    const drillMacKeyArn = mac.kms.createKey({ alias: 'alias/botvault-drill-mac' });
    const drill = await runDeepDrillLocally({ config, bucket, macKeyArn: mac.macKeyArn, drillMacKeyArn, topicArn: sns.topicArn });
    const r = drill.report;
    console.log(`\n== deep drill ${r.runId}: ${drill.output.summary} (${drill.seconds.toFixed(1)} s)`);
    console.log(
      `   chose ${r.selection.chosen} of ${r.selection.candidates} bot archives (${r.selection.mode}); swept ${r.sweep.length} old scratch bots`,
    );
    for (const a of r.results) {
      const steps = `imported ${a.imported ? 'yes' : 'no'}, built ${a.built === null ? 'n/a' : a.built ? 'yes' : 'no'}, re-exported ${a.reExported ? 'yes' : 'no'}`;
      const verdict = a.error ? `FAILED at ${a.error.step}: ${a.error.message}` : a.identical ? 'IDENTICAL' : `${a.differences.length} DIFFERENCE(S)`;
      const calls = Object.values(a.calls).reduce((x, y) => x + y, 0);
      console.log(`\n   ${a.key}${a.versionId ? ` (version ${a.versionId})` : ''}`);
      console.log(`     ${verdict}; ${steps}`);
      for (const d of a.differences) console.log(`       - ${d.text}${d.missing ? ` [${d.missing.map((m) => JSON.stringify(m)).join(', ')}]` : ''}`);
      console.log(`     scratch bot ${a.scratchBot ? `${a.scratchBot.name} (${a.scratchBot.id})` : '-'}: ${a.scratchBotAfter ?? 'none created'}`);
      console.log(
        `     ${calls} provider/AWS calls (${Object.entries(a.calls)
          .map(([op, n]) => `${op} ${n}`)
          .join(', ')}); ${((a.timings.total ?? 0) / 1000).toFixed(2)} s`,
      );
    }
    const lexScratch: string[] = [];
    for await (const page of paginateListBots(
      { client: lexClient },
      { filters: [{ name: 'BotName', values: [SCRATCH_BOT_PREFIX], operator: 'CO' }] },
    ))
      for (const b of page.botSummaries ?? [])
        if (b.botName?.startsWith(SCRATCH_BOT_PREFIX) && b.botStatus !== 'Deleting') lexScratch.push(b.botName);
    console.log(`\n   Lex scratch bots left (ListBots): ${lexScratch.length ? lexScratch.join(', ') : 'none'}`);
    console.log(
      `   Kore.ai scratch bots kept (one per host, reused: no public delete API): ${r.scratchBotsKept.map((b) => `${b.name} (${b.id})`).join(', ') || 'none'}`,
    );
    console.log(`   report: s3://${bucket}/${drill.output.reportKey}`);
    // The bucket is gone with the demo: --report-file FILE keeps the report (as read back and verified) to read later.
    const reportFile = process.argv[process.argv.indexOf('--report-file') + 1];
    if (process.argv.includes('--report-file') && reportFile) {
      writeFileSync(reportFile, `${JSON.stringify(r, null, 2)}\n`);
      console.log(`   report written to ${reportFile}`);
    }
    console.log(
      `\n== metrics (EMF): ${Object.entries(drill.metrics)
        .map(([k, v]) => `${k}=${v}`)
        .join(', ')}`,
    );
    console.log(
      `== alarm ${drill.alarm.name}: ${drill.alarm.expression} = ${drill.alarm.value} (threshold ${drill.alarm.threshold}) → ${drill.alarm.state}`,
    );
    const note = sns.published.at(-1);
    console.log(`== notification (SNS ${sns.topicArn}):\n   Subject: ${note?.subject ?? '(none)'}\n${(note?.message ?? '').replace(/^/gm, '   ')}`);
    if (lossy) {
      const lost = [...lex.imports.values()].flatMap((i) => i.losses ?? []).map((l) => l.summary);
      console.log(
        `== what the simulators dropped: ${[...new Set(lost)].join('; ')}; Kore.ai: ${[...kore.imports.values()]
          .flatMap((i) => i.losses ?? [])
          .map((l) => l.summary)
          .join('; ')}`,
      );
    }
    const expected = lossy ? drill.alarm.state === 'ALARM' : drill.alarm.state === 'OK' && r.counts.identical === r.counts.archives;
    return expected && lexScratch.length === 0 ? 0 : 1;
  } finally {
    lexClient.destroy();
    await lex.close();
    await kore.close();
    await secrets.close();
    await mac.close();
    await sns.close();
    await quotas.close();
    await local?.close();
  }
}

main().then(
  (code) => process.exit(code),
  (err: unknown) => {
    console.error(err);
    process.exit(2);
  },
);
