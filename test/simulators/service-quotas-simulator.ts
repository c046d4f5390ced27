/**
 * A local AWS Service Quotas over the awsJson1_1 protocol, answering the Lex
 * V2 quotas a restore drill may look up before it creates scratch bots.
 *
 * Wire format, from the service model as @aws-sdk/client-service-quotas
 * 3.1138.0 ships it (dist-cjs/index.js; read from its npm tarball, not a
 * dependency of this package): `POST /`, `Content-Type:
 * application/x-amz-json-1.1`, `X-Amz-Target:
 * ServiceQuotasV20190624.<Operation>`, signing name `servicequotas`.
 * GetServiceQuota takes `{ServiceCode, QuotaCode, ContextId?}` (the first two
 * required) and answers `{Quota: ServiceQuota}`; GetAWSDefaultServiceQuota
 * takes `{ServiceCode, QuotaCode}` and answers the same shape with the
 * default value. ServiceQuota: ServiceCode, ServiceName, QuotaArn, QuotaCode,
 * QuotaName, Value (a double), Unit, Adjustable, GlobalQuota, UsageMetric,
 * Period, ErrorReason, QuotaAppliedAtLevel, QuotaContext, Description. Errors
 * are `{"__type": "<Name>", "Message": "..."}` with the model's httpError
 * codes: NoSuchResourceException 404, IllegalArgumentException 400,
 * AccessDeniedException 403, TooManyRequestsException 429, ServiceException 500.
 *
 * The quotas it knows (service code `lex`, AWS General Reference "Amazon Lex
 * endpoints and quotas", whose table links these codes to the Service Quotas
 * console — services/lex/quotas/<code>):
 * - L-36FA8BD2 "Bots per account (V2)", default 100, adjustable;
 * - L-ED50DA7C "Sample utterances per intent (V2)", default 1,500, adjustable;
 * - L-77D6C60C "Sample utterances per slot (V2)", default 10, adjustable.
 * "Parallel locale builds per AWS account" (default 5; Lex V2 Developer
 * Guide, "Quotas": adjustable, but not through self-service) is NOT in that
 * table and has no quota code anywhere we could find: a drill cannot look it
 * up and must treat 5 as the limit (or configure it). Any code not known here
 * answers NoSuchResourceException, as an unknown quota does.
 *
 * GetServiceQuota "Retrieves the applied quota value … If the applied quota
 * value is not available for a quota, the quota is not retrieved" (its API
 * reference): a quota listed in `withoutAppliedValue` answers
 * NoSuchResourceException there while GetAWSDefaultServiceQuota still
 * answers its default (public callers fall back to it on that error).
 *
 * SigV4 signatures are not verified, but an Authorization header is required.
 */
import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { AwsJsonError, listen, readAwsJsonRequest, sendJson } from './http';

/** A quota Service Quotas knows. */
interface SimQuota {
  serviceCode: string;
  serviceName: string;
  quotaCode: string;
  quotaName: string;
  defaultValue: number;
  adjustable: boolean;
  description?: string;
}

export interface ServiceQuotasSimulatorOptions {
  /** @default '123456789012' */
  accountId?: string;
  /** @default 'us-east-1' */
  region?: string;
  /** Applied values by 'serviceCode/quotaCode' (e.g. `{'lex/L-36FA8BD2': 250}`); a quota without one answers its default. */
  applied?: Record<string, number>;
  /** 'serviceCode/quotaCode's whose applied value is not available: GetServiceQuota answers NoSuchResourceException. */
  withoutAppliedValue?: string[];
  /** Quotas besides the Lex V2 ones above. */
  quotas?: SimQuota[];
  /** The first N calls answer 429 TooManyRequestsException. */
  throttleFirst?: number;
  port?: number;
}

interface QuotaCall {
  op: string;
  serviceCode?: string;
  quotaCode?: string;
  status: number;
  error?: string;
}

export interface ServiceQuotasSimulator {
  url: string;
  calls: QuotaCall[];
  /** Sets (or, undefined, removes) a quota's applied value. */
  setApplied(serviceCode: string, quotaCode: string, value: number | undefined): void;
  close(): Promise<void>;
}

const CONTENT_TYPE = 'application/x-amz-json-1.1';
const TARGET_PREFIX = 'ServiceQuotasV20190624.';

/** Lex V2's quotas with codes (AWS General Reference, "Amazon Lex endpoints and quotas", Service quotas). */
const LEX_QUOTAS: readonly SimQuota[] = [
  {
    serviceCode: 'lex',
    serviceName: 'Amazon Lex',
    quotaCode: 'L-36FA8BD2',
    quotaName: 'Bots per account (V2)',
    defaultValue: 100,
    adjustable: true,
    description: 'The maximum number of bots that you can create in this account in the current Region.',
  },
  {
    serviceCode: 'lex',
    serviceName: 'Amazon Lex',
    quotaCode: 'L-ED50DA7C',
    quotaName: 'Sample utterances per intent (V2)',
    defaultValue: 1500,
    adjustable: true,
    description: 'The maximum number of sample utterances that you can create per intent in this account in the current Region.',
  },
  {
    serviceCode: 'lex',
    serviceName: 'Amazon Lex',
    quotaCode: 'L-77D6C60C',
    quotaName: 'Sample utterances per slot (V2)',
    defaultValue: 10,
    adjustable: true,
    description: 'The maximum number of sample utterances that you can create per slot in this account in the current Region.',
  },
];

export async function startServiceQuotasSimulator(opts: ServiceQuotasSimulatorOptions = {}): Promise<ServiceQuotasSimulator> {
  const accountId = opts.accountId ?? '123456789012';
  const region = opts.region ?? 'us-east-1';
  const quotas = new Map([...LEX_QUOTAS, ...(opts.quotas ?? [])].map((q) => [`${q.serviceCode}/${q.quotaCode}`, q]));
  const applied = new Map(Object.entries(opts.applied ?? {}));
  const withoutApplied = new Set(opts.withoutAppliedValue ?? []);
  const calls: QuotaCall[] = [];
  let throttleLeft = opts.throttleFirst ?? 0;

  /** The quota a request names; IllegalArgumentException without both codes, NoSuchResourceException for an unknown one. */
  function quotaOf(input: Record<string, unknown>): SimQuota {
    for (const field of ['ServiceCode', 'QuotaCode'] as const) {
      const v = input[field];
      if (typeof v !== 'string' || v.length === 0)
        throw new AwsJsonError(
          'IllegalArgumentException',
          `1 validation error detected: Value null at '${field}' failed to satisfy constraint: Member must not be null`,
        );
      if (v.length > 128 || !/^[a-zA-Z][a-zA-Z0-9-]{1,128}$/.test(v))
        throw new AwsJsonError(
          'IllegalArgumentException',
          `1 validation error detected: Value '${v}' at '${field}' failed to satisfy constraint: Member must satisfy regular expression pattern: [a-zA-Z][a-zA-Z0-9-]{1,128}`,
        );
    }
    const serviceCode = String(input.ServiceCode);
    const quotaCode = String(input.QuotaCode);
    if (![...quotas.values()].some((q) => q.serviceCode === serviceCode))
      throw new AwsJsonError('NoSuchResourceException', `The request failed because the specified service ${serviceCode} does not exist.`, 404);
    const q = quotas.get(`${serviceCode}/${quotaCode}`);
    if (!q)
      throw new AwsJsonError(
        'NoSuchResourceException',
        `The request failed because the specified quota ${quotaCode} of service ${serviceCode} does not exist.`,
        404,
      );
    return q;
  }

  function quotaJson(q: SimQuota, value: number): Record<string, unknown> {
    return {
      ServiceCode: q.serviceCode,
      ServiceName: q.serviceName,
      QuotaArn: `arn:aws:servicequotas:${region}:${accountId}:${q.serviceCode}/${q.quotaCode}`,
      QuotaCode: q.quotaCode,
      QuotaName: q.quotaName,
      Value: value,
      Unit: 'None',
      Adjustable: q.adjustable,
      GlobalQuota: false,
      QuotaAppliedAtLevel: 'ACCOUNT',
      ...(q.description ? { Description: q.description } : {}),
    };
  }

  const send = (res: ServerResponse, status: number, body: unknown) =>
    sendJson(res, status, body, { 'content-type': CONTENT_TYPE, 'x-amzn-requestid': randomUUID() });

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const target = String(req.headers['x-amz-target'] ?? '');
    const op = target.startsWith(TARGET_PREFIX) ? target.slice(TARGET_PREFIX.length) : target || 'Unknown';
    const call: QuotaCall = { op, status: 500 };
    try {
      const input = await readAwsJsonRequest(req, CONTENT_TYPE);
      if (!target.startsWith(TARGET_PREFIX)) throw new AwsJsonError('UnknownOperationException', `Unknown X-Amz-Target ${target || '(none)'}`);
      let out: Record<string, unknown>;
      if (op === 'GetServiceQuota' || op === 'GetAWSDefaultServiceQuota') {
        if (typeof input.ServiceCode === 'string') call.serviceCode = input.ServiceCode;
        if (typeof input.QuotaCode === 'string') call.quotaCode = input.QuotaCode;
        if (throttleLeft > 0) {
          throttleLeft--;
          throw new AwsJsonError('TooManyRequestsException', 'Rate exceeded', 429);
        }
        const q = quotaOf(input);
        const key = `${q.serviceCode}/${q.quotaCode}`;
        if (op === 'GetServiceQuota') {
          if (withoutApplied.has(key))
            throw new AwsJsonError('NoSuchResourceException', `The applied quota value of ${q.quotaCode} is not available.`, 404);
          out = { Quota: quotaJson(q, applied.get(key) ?? q.defaultValue) };
        } else {
          out = { Quota: quotaJson(q, q.defaultValue) };
        }
      } else {
        throw new AwsJsonError('UnknownOperationException', `Operation ${op} is not supported by this simulator.`);
      }
      call.status = 200;
      send(res, 200, out);
    } catch (err) {
      const e = err instanceof AwsJsonError ? err : new AwsJsonError('ServiceException', 'Simulator error.', 500);
      call.status = e.status;
      call.error = e.type;
      send(res, e.status, { __type: e.type, Message: e.message });
    } finally {
      calls.push(call);
    }
  }

  const { url, close } = await listen(
    createServer((req, res) => void handle(req, res)),
    opts.port,
  );
  return {
    url,
    calls,
    setApplied(serviceCode, quotaCode, value) {
      const key = `${serviceCode}/${quotaCode}`;
      if (value === undefined) applied.delete(key);
      else applied.set(key, value);
    },
    close,
  };
}
