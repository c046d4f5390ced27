/**
 * The environment the stack gives every Lambda, pointed at the local
 * simulators: what the handler tests (source and bundled) set before calling
 * `handler(payload)`.
 */
import { S3RVER_CREDENTIALS } from '../simulators/s3-server';

export function handlerEnvironment(opts: {
  lexUrl: string;
  s3Endpoint: string;
  bucket: string;
  /** The KMS simulator and its HMAC key (kms-simulator.ts), which StoreArchive, Summarize and the drill need. */
  kms: { url: string; macKeyArn: string };
}): Record<string, string> {
  return {
    AWS_ENDPOINT_URL_KMS: opts.kms.url,
    BOTVAULT_MAC_KEY_ID: opts.kms.macKeyArn,
    AWS_ENDPOINT_URL_LEX_MODELS_V2: opts.lexUrl,
    AWS_ENDPOINT_URL_S3: opts.s3Endpoint,
    AWS_REGION: 'us-east-1',
    AWS_ACCESS_KEY_ID: S3RVER_CREDENTIALS.accessKeyId,
    AWS_SECRET_ACCESS_KEY: S3RVER_CREDENTIALS.secretAccessKey,
    BOTVAULT_BUCKET: opts.bucket,
    BOTVAULT_DOWNLOAD_ALLOWLIST: opts.lexUrl,
    POWERTOOLS_LOG_LEVEL: 'SILENT',
    POWERTOOLS_METRICS_DISABLED: 'true',
  };
}
