/**
 * Amazon Lex V2 in several accounts and regions behind one local endpoint,
 * for BotVault's cross-account, multi-region backups.
 *
 * The SDK sends every region's requests to the one
 * `AWS_ENDPOINT_URL_LEX_MODELS_V2`, so the estate tells them apart as AWS
 * does: the account is that of the credentials that signed the request (the
 * shared registry, sim-credentials.ts: home credentials, or those the STS
 * simulator's AssumeRole issued), the region the one in its SigV4 credential
 * scope (`Credential=<AKID>/<date>/<region>/lex/aws4_request`). Each
 * `<account>/<region>` is a separate single-tenant Lex simulator
 * (lex-simulator.ts `createLexTenant`), so bots, exports, imports and faults
 * are per account and region; one nobody configured is an empty Lex (created
 * on first use: ListBots empty, anything named 404 ResourceNotFoundException,
 * imports accepted, as in a real, unused region).
 *
 * Refused credentials get Lex's answers (restJson1: `x-amzn-errortype` and
 * `{"message"}`; the messages are those AWS's front end sends for every JSON
 * API, AWS General Reference "Common Errors"): an unknown key or a wrong or
 * missing session token 403 UnrecognizedClientException "The security token
 * included in the request is invalid.", expired credentials 403
 * ExpiredTokenException "The security token included in the request is
 * expired", a bad signature 403 InvalidSignatureException, no Authorization
 * 403 MissingAuthenticationTokenException. Signatures are verified.
 *
 * A tenant's presigned download and upload URLs point at the estate's origin
 * under `/t/<account>/<region>/`, which the estate strips before the tenant
 * answers: one origin for every download (BOTVAULT_DOWNLOAD_ALLOWLIST names
 * one), and, as with S3 presigned URLs, no credentials needed to follow them.
 */
import { randomUUID } from 'node:crypto';
import { createServer, type ServerResponse } from 'node:http';
import { listen, readBody, sendJson, sendText } from './http';
import { createLexTenant, type LexSimulator, type LexSimulatorOptions, type LexTenant, type SimCall } from './lex-simulator';
import { type AuthFailure, SimAuthError, type SimCredentials } from './sim-credentials';

export interface LexEstateOptions {
  /** Who signs requests: the registry the STS simulator issues credentials into. */
  readonly credentials: SimCredentials;
  /**
   * The configured tenants by `'<account>/<region>'` (e.g. `'210987654321/eu-west-1'`):
   * each a Lex simulator's options; its accountId and region are the key's
   * (giving others is an error) and port/host are the estate's.
   * @default none: every account and region is an empty Lex
   */
  readonly tenants?: Record<string, LexSimulatorOptions>;
  /** @default any free port */
  readonly port?: number;
  /** @default '127.0.0.1' */
  readonly host?: string;
}

/** One request to the estate: which tenant answered it, or why none did. */
interface EstateCall {
  /** The signer's account (undefined when the key is unknown or the request unsigned). */
  readonly account?: string;
  /** The credential scope's region, or the tenant's for a download or upload. */
  readonly region?: string;
  /** The operation the tenant recorded ('Download', 'Upload' included); 'Rejected' when the credentials were refused. */
  readonly op: string;
  readonly status: number;
  readonly botId?: string;
  readonly exportId?: string;
  /** The error type of a refused request (UnrecognizedClientException, ...). */
  readonly error?: string;
}

export interface LexEstate {
  /** http://HOST:PORT: the one Lex endpoint of every account and region. */
  readonly url: string;
  /** The Lex of `account` in `region` (created, empty, if not configured): add bots, set faults, read its calls and exports. */
  tenant(account: string, region: string): LexSimulator;
  /** Every request, in the order they completed (downloads: as they started). */
  readonly calls: EstateCall[];
  close(): Promise<void>;
}

const TENANT_KEY = /^(\d{12})\/([a-z]{2}(?:-[a-z]+)+-\d)$/;
const PREFIX = /^\/t\/(\d{12})\/([a-z0-9-]+)(\/.*)$/;

class LexAuthError extends Error {
  override readonly name = 'LexAuthError';
  constructor(
    readonly type: string,
    message: string,
  ) {
    super(message);
  }
}

const LEX_AUTH_ERRORS: Record<AuthFailure, (detail: string) => LexAuthError> = {
  missing: () => new LexAuthError('MissingAuthenticationTokenException', 'Missing Authentication Token'),
  malformed: (detail) => new LexAuthError('IncompleteSignatureException', detail),
  unknownKey: () => new LexAuthError('UnrecognizedClientException', 'The security token included in the request is invalid.'),
  badToken: () => new LexAuthError('UnrecognizedClientException', 'The security token included in the request is invalid.'),
  expired: () => new LexAuthError('ExpiredTokenException', 'The security token included in the request is expired'),
  badSignature: () =>
    new LexAuthError(
      'InvalidSignatureException',
      'The request signature we calculated does not match the signature you provided. Check your AWS Secret Access Key and signing method. Consult the service documentation for details.',
    ),
};

export async function startLexEstate(opts: LexEstateOptions): Promise<LexEstate> {
  const tenants = new Map<string, LexTenant>();
  const calls: EstateCall[] = [];
  for (const key of Object.keys(opts.tenants ?? {}))
    if (!TENANT_KEY.test(key)) throw new Error(`startLexEstate: tenant keys are '<12-digit account>/<region>', not '${key}'`);

  let url = '';
  function tenantFor(account: string, region: string): LexTenant {
    const key = `${account}/${region}`;
    let t = tenants.get(key);
    if (!t) {
      const given = opts.tenants?.[key] ?? {};
      if ((given.accountId ?? account) !== account || (given.region ?? region) !== region)
        throw new Error(`startLexEstate: tenant ${key} is given accountId ${given.accountId} / region ${given.region}: leave them out`);
      // The tenant's calls are the estate's too, read live: a download's status is known only once it is sent.
      const onCall = (c: SimCall) =>
        calls.push({
          account,
          region,
          get op() {
            return c.op;
          },
          get status() {
            return c.status;
          },
          ...(c.botId !== undefined ? { botId: c.botId } : {}),
          ...(c.exportId !== undefined ? { exportId: c.exportId } : {}),
        });
      t = createLexTenant({ ...given, accountId: account, region }, `${url}/t/${account}/${region}`, onCall);
      tenants.set(key, t);
    }
    return t;
  }

  function refuse(res: ServerResponse, err: LexAuthError, account?: string, region?: string): void {
    calls.push({ ...(account ? { account } : {}), ...(region ? { region } : {}), op: 'Rejected', status: 403, error: err.type });
    sendJson(
      res,
      403,
      { message: err.message },
      { 'content-type': 'application/json', 'x-amzn-errortype': err.type, 'x-amzn-requestid': randomUUID() },
    );
  }

  const server = createServer((req, res) => {
    const pathname = (req.url ?? '/').split('?')[0]!;
    const prefixed = PREFIX.exec(pathname);
    if (prefixed) {
      // A presigned download or upload URL of a tenant: routed by its path, no credentials (as S3's are).
      const [, account, region, rest] = prefixed;
      const t = tenants.get(`${account}/${region}`);
      if (!t || !/^\/(downloads|uploads)\/[^/]+$/.test(rest!)) {
        req.resume();
        sendText(
          res,
          404,
          '<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>NoSuchKey</Code><Message>The specified key does not exist.</Message></Error>',
          {
            'content-type': 'application/xml',
          },
        );
        return;
      }
      req.url = rest! + (req.url ?? '').slice(pathname.length);
      t.handle(req, res);
      return;
    }
    void (async () => {
      const body = await readBody(req);
      let account: string | undefined;
      let region: string | undefined;
      try {
        const who = opts.credentials.identify({ method: req.method ?? 'GET', url: req.url ?? '/', headers: req.headers, body });
        account = who.principal.accountId;
        region = who.region;
        // The SDK signs Lex V2 model-building requests for service `lex` (client-lex-models-v2 defaultSigningName).
        if (who.service !== 'lex') throw new LexAuthError('InvalidSignatureException', `Credential should be scoped to correct service: 'lex'. `);
      } catch (err) {
        if (err instanceof SimAuthError) {
          region = /Credential=[^/]+\/\d{8}\/([^/]+)\//.exec(String(req.headers.authorization ?? ''))?.[1];
          return refuse(res, LEX_AUTH_ERRORS[err.reason](err.message), undefined, region);
        }
        if (err instanceof LexAuthError) return refuse(res, err, account, region);
        throw err;
      }
      tenantFor(account, region).handle(req, res, body);
    })();
  });
  const listening = await listen(server, opts.port, opts.host);
  url = listening.url;
  for (const key of Object.keys(opts.tenants ?? {})) {
    const [, account, region] = TENANT_KEY.exec(key)!;
    tenantFor(account!, region!);
  }

  return {
    url,
    calls,
    tenant: (account, region) => tenantFor(account, region).sim,
    async close() {
      for (const t of tenants.values()) await t.sim.close();
      await listening.close();
    },
  };
}
