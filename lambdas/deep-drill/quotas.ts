/**
 * The Lex quotas the deep drill waits for, read from Service Quotas where it
 * can tell them (Lex V2 Developer Guide, "Quotas"):
 *  - Bots per AWS account: Service Quotas code L-36FA8BD2 ("Bots per account
 *    (V2)", AWS General Reference, "Amazon Lex endpoints and quotas"),
 *    default 100, self-service adjustable: GetServiceQuota gives the
 *    account's applied value.
 *  - Parallel locale builds per AWS account: default 5, adjustable through
 *    Support only and not in Service Quotas (the General Reference lists no
 *    code for it): the documented default, and Lex's own refusals are waited
 *    out (lib/providers/lex/drill.ts).
 *
 * GetServiceQuota is one awsJson1_1 call (X-Amz-Target
 * ServiceQuotasV20190624.GetServiceQuota, Service Quotas API Reference).
 * The project has no Service Quotas client, so the call is signed with the
 * SDK's own SigV4 signer of a client this Lambda already has (its
 * credentials, its clock), for signing name `servicequotas`; the endpoint
 * follows the SDK convention (AWS_ENDPOINT_URL_SERVICE_QUOTAS, else the
 * regional one), so a local simulator is reached the same way as every other.
 */
import { LEX_DEFAULT_QUOTAS } from '../../lib/providers/lex/drill';
import type { LexQuotas } from '../../lib/providers/drill';

/** Service Quotas' code for Lex V2's "Bots per account" (AWS General Reference, "Amazon Lex endpoints and quotas"). */
export const LEX_BOTS_PER_ACCOUNT_QUOTA = 'L-36FA8BD2';

/** An SDK client whose resolved config carries its SigV4 signer (every generated AWS SDK v3 client does). */
interface SigningClient {
  readonly config: { signer(): Promise<SigV4Signer> };
}
interface SigV4Signer {
  sign(
    request: {
      method: string;
      protocol: string;
      hostname: string;
      port?: number;
      path: string;
      query: Record<string, string>;
      headers: Record<string, string>;
      body: string;
    },
    options: { signingService: string; signingRegion: string },
  ): Promise<{ headers: Record<string, string> }>;
}

/**
 * A reader of the quotas, asked once per drill. Any failure (no permission,
 * no such quota in the region, Service Quotas unreachable) gives the
 * documented default, so the drill never fails for want of a number.
 */
export function serviceQuotasReader(
  region: string,
  client: SigningClient,
  env: Record<string, string | undefined> = process.env,
): () => Promise<LexQuotas> {
  return async () => {
    const base = env.AWS_ENDPOINT_URL_SERVICE_QUOTAS?.trim() || env.AWS_ENDPOINT_URL?.trim() || `https://servicequotas.${region}.amazonaws.com`;
    try {
      const url = new URL(base);
      const body = JSON.stringify({ ServiceCode: 'lex', QuotaCode: LEX_BOTS_PER_ACCOUNT_QUOTA });
      const signer = await client.config.signer();
      const signed = await signer.sign(
        {
          method: 'POST',
          protocol: url.protocol,
          hostname: url.hostname,
          ...(url.port ? { port: Number(url.port) } : {}),
          path: url.pathname || '/',
          query: {},
          headers: {
            host: url.host,
            'content-type': 'application/x-amz-json-1.1',
            'x-amz-target': 'ServiceQuotasV20190624.GetServiceQuota',
          },
          body,
        },
        { signingService: 'servicequotas', signingRegion: region },
      );
      const res = await fetch(url, { method: 'POST', headers: signed.headers, body, signal: AbortSignal.timeout(10_000) });
      if (!res.ok) return LEX_DEFAULT_QUOTAS;
      const value = ((await res.json()) as { Quota?: { Value?: unknown } }).Quota?.Value;
      if (typeof value !== 'number' || !Number.isFinite(value) || value < 1) return LEX_DEFAULT_QUOTAS;
      return { ...LEX_DEFAULT_QUOTAS, botsPerAccount: Math.floor(value), source: { ...LEX_DEFAULT_QUOTAS.source, botsPerAccount: 'service-quotas' } };
    } catch {
      return LEX_DEFAULT_QUOTAS;
    }
  };
}
