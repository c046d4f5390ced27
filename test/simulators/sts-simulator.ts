/**
 * A local AWS STS over the real awsQuery protocol, for the real
 * `@aws-sdk/client-sts` client: point it here with `endpoint` or
 * `AWS_ENDPOINT_URL_STS=<url>`.
 *
 * Wire format (STS API reference, "Making Query requests"; the SDK's
 * AwsQueryProtocol): `POST /` with a form body `Action=<Operation>&Version=2011-06-15&...`;
 * replies are XML `<OperationResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/">`
 * holding `<OperationResult>` and `<ResponseMetadata><RequestId>`; errors are
 * `<ErrorResponse><Error><Type>Sender</Type><Code>...</Code><Message>...</Message></Error>`.
 *
 * Operations:
 * - GetCallerIdentity: Account, Arn and UserId of the caller: the identity the
 *   simulator was started with, or, for credentials AssumeRole issued,
 *   `arn:aws:sts::<role's account>:assumed-role/<role name>/<session>` and
 *   `AROA…:<session>` (STS API reference, GetCallerIdentity, "Examples").
 * - AssumeRole of the configured `roles` (below).
 * Anything else is a 400 InvalidAction. An Authorization header is required
 * (400 MissingAuthenticationToken), so an unsigned client is caught.
 *
 * Who the caller is: with a shared `credentials` registry (sim-credentials.ts)
 * every request is identified by it and its SigV4 signature verified; a key
 * it does not know is 403 InvalidClientTokenId, an expired one 403
 * ExpiredToken, a bad signature 403 SignatureDoesNotMatch (the codes and
 * messages STS answers, AWS General Reference "Common Errors" for the Query
 * APIs). Without one, credentials this simulator issued are still recognised,
 * and any other caller is the configured `arn`, unchecked, as before.
 */
import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage } from 'node:http';
import { escapeXml, listen, queryErrorXml, readBody, sendText } from './http';
import { type RequestIdentity, roleOfSession, SimAuthError, SimCredentials, type SimPrincipal } from './sim-credentials';

/** A role AssumeRole can hand out sessions of: what its trust policy allows. */
export interface SimRole {
  /** `arn:aws:iam::<account>:role/[<path>/]<name>` */
  readonly roleArn: string;
  /**
   * The trust policy's AWS principals: caller ARNs (an IAM user, or a role
   * ARN, which trusts every session of that role), account ids, or
   * `arn:aws:iam::<account>:root` (the whole account).
   */
  readonly trustedPrincipals: readonly string[];
  /** The trust policy's `sts:ExternalId` condition: AssumeRole must pass exactly this. */
  readonly externalId?: string;
  /** The role's MaxSessionDuration (IAM CreateRole: 3600 to 43200). @default 3600, IAM's default */
  readonly maxSessionDuration?: number;
}

export interface StsSimulatorOptions {
  /** The account every caller acts in when `credentials` does not know it. @default '123456789012' */
  readonly accountId?: string;
  /** That caller's ARN. @default an IAM user `botvault-operator` of the account */
  readonly arn?: string;
  /**
   * The registry that identifies callers (their signatures verified) and
   * records the credentials AssumeRole issues, shared with the Lex estate.
   * @default a registry of this simulator's own: it knows only what it issued
   */
  readonly credentials?: SimCredentials;
  /** The roles AssumeRole can assume. @default none: every AssumeRole is AccessDenied */
  readonly roles?: readonly SimRole[];
  /**
   * Fault: issued credentials expire this many seconds after they are issued,
   * whatever DurationSeconds asked. The SDK refreshes credentials 5 minutes
   * before their Expiration (@smithy/core's memoized identity providers), so
   * 300 + n makes a client get new ones after n seconds.
   */
  readonly credentialLifetimeSeconds?: number;
  /** @default any free port */
  readonly port?: number;
}

export interface StsSimulator {
  readonly url: string;
  readonly accountId: string;
  /** The registry in use (the one given, or the simulator's own). */
  readonly credentials: SimCredentials;
  /** The Action of every request, in order. */
  readonly calls: string[];
  /** Adds (or replaces, by ARN) a role. */
  addRole(role: SimRole): void;
  close(): Promise<void>;
}

const XMLNS = 'https://sts.amazonaws.com/doc/2011-06-15/';
const XML = { 'content-type': 'text/xml' };

/** An STS error answer: status, Code, Message. */
class StsError extends Error {
  override readonly name = 'StsError';
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

/**
 * STS's answers to refused credentials (AWS General Reference, "Common
 * Errors"; the messages are those the STS endpoint sends). A wrong session
 * token for a known key is, to STS, an invalid token.
 */
function authError(err: SimAuthError): StsError {
  switch (err.reason) {
    case 'missing':
      return new StsError(400, 'MissingAuthenticationToken', 'Request is missing Authentication Token');
    case 'malformed':
      return new StsError(400, 'IncompleteSignature', err.message);
    case 'unknownKey':
    case 'badToken':
      return new StsError(403, 'InvalidClientTokenId', 'The security token included in the request is invalid.');
    case 'expired':
      return new StsError(403, 'ExpiredToken', 'The security token included in the request is expired');
    case 'badSignature':
      return new StsError(
        403,
        'SignatureDoesNotMatch',
        'The request signature we calculated does not match the signature you provided. Check your AWS Secret Access Key and signing method. Consult the service documentation for details.',
      );
  }
}

/**
 * The parameter constraints of AssumeRole, from the STS service model
 * (botocore/data/sts/2011-06-15/service-2.json: arnType 20–2048,
 * roleSessionNameType 2–64 `[\w+=,.@-]*`, externalIdType 2–1224
 * `[\w+=,.@:\/-]*`, roleDurationSecondsType 900–43200; the same characters
 * are described in node_modules/@aws-sdk/client-sts/dist-types/models/models_0.d.ts,
 * AssumeRoleRequest). Violations are reported together, in the service's
 * "N validation errors detected: Value … at '…' failed to satisfy constraint: …"
 * form, with the member names lower-camel-cased as STS spells them.
 */
function validateAssumeRole(form: URLSearchParams): { roleArn: string; session: string; externalId?: string; duration: number } {
  const errors: string[] = [];
  const str = (name: string, member: string, min: number, max: number, pattern: RegExp | undefined, required: boolean) => {
    const v = form.get(name);
    if (v === null) {
      if (required) errors.push(`Value null at '${member}' failed to satisfy constraint: Member must not be null`);
      return undefined;
    }
    if (v.length < min)
      errors.push(`Value '${v}' at '${member}' failed to satisfy constraint: Member must have length greater than or equal to ${min}`);
    else if (v.length > max)
      errors.push(`Value '${v}' at '${member}' failed to satisfy constraint: Member must have length less than or equal to ${max}`);
    if (pattern && !pattern.test(v))
      errors.push(
        `Value '${v}' at '${member}' failed to satisfy constraint: Member must satisfy regular expression pattern: ${pattern.source.slice(1, -1)}`,
      );
    return v;
  };
  const roleArn = str('RoleArn', 'roleArn', 20, 2048, undefined, true);
  const session = str('RoleSessionName', 'roleSessionName', 2, 64, /^[\w+=,.@-]*$/, true);
  const externalId = str('ExternalId', 'externalId', 2, 1224, /^[\w+=,.@:/-]*$/, false);
  const rawDuration = form.get('DurationSeconds');
  let duration = 3600;
  if (rawDuration !== null) {
    duration = Number(rawDuration);
    if (!/^-?\d+$/.test(rawDuration))
      errors.push(`Value '${rawDuration}' at 'durationSeconds' failed to satisfy constraint: Member must be an integer`);
    else if (duration < 900)
      errors.push(`Value '${rawDuration}' at 'durationSeconds' failed to satisfy constraint: Member must have value greater than or equal to 900`);
    else if (duration > 43200)
      errors.push(`Value '${rawDuration}' at 'durationSeconds' failed to satisfy constraint: Member must have value less than or equal to 43200`);
  }
  if (errors.length)
    throw new StsError(400, 'ValidationError', `${errors.length} validation error${errors.length > 1 ? 's' : ''} detected: ${errors.join('; ')}`);
  return { roleArn: roleArn!, session: session!, ...(externalId !== undefined ? { externalId } : {}), duration };
}

/** ISO 8601 without milliseconds, as STS writes Expiration (`2011-07-15T23:28:33Z`). */
const isoSeconds = (ms: number) => new Date(ms).toISOString().replace(/\.\d{3}Z$/, 'Z');

export async function startStsSimulator(opts: StsSimulatorOptions = {}): Promise<StsSimulator> {
  const accountId = opts.accountId ?? '123456789012';
  const arn = opts.arn ?? `arn:aws:iam::${accountId}:user/botvault-operator`;
  const registry = opts.credentials ?? new SimCredentials({ home: [] });
  // The caller of an unknown key when no registry was given: the configured identity, its signature unchecked.
  const fallback: SimPrincipal = { kind: 'home', accessKeyId: '', secretAccessKey: '', accountId, arn, userId: 'AIDABOTVAULTOPERATOR' };
  const roles = new Map<string, SimRole>((opts.roles ?? []).map((r) => [r.roleArn, r]));
  const calls: string[] = [];

  function identify(req: IncomingMessage, body: Buffer): SimPrincipal {
    if (!req.headers.authorization) throw authError(new SimAuthError('missing', ''));
    let who: RequestIdentity;
    try {
      who = registry.identify({ method: req.method ?? 'POST', url: req.url ?? '/', headers: req.headers, body });
    } catch (err) {
      if (!(err instanceof SimAuthError)) throw err;
      if (!opts.credentials && err.reason === 'unknownKey') return fallback;
      throw authError(err);
    }
    // A request signed for another service is a bad signature to STS (its credential scope must name sts).
    if (who.service !== 'sts') throw new StsError(403, 'SignatureDoesNotMatch', `Credential should be scoped to correct service: 'sts'.`);
    return who.principal;
  }

  /**
   * Whether the trust policy lets `caller` assume the role: a principal entry
   * that is the caller's ARN, the role of the caller's session, the caller's
   * account (id or `:root`). IAM User Guide, "AWS JSON policy elements:
   * Principal": a role ARN in a trust policy matches that role's sessions,
   * an account matches every principal in it.
   */
  function trusts(role: SimRole, caller: SimPrincipal): boolean {
    const callerRole = caller.roleArn ?? roleOfSession(caller.arn)?.roleArn;
    const callerRoleName = callerRole?.split('/').pop();
    return role.trustedPrincipals.some((t) => {
      if (t === caller.arn || t === caller.accountId || t === `arn:aws:iam::${caller.accountId}:root`) return true;
      if (!callerRole) return false;
      if (t === callerRole) return true;
      // A trust policy names the role with its path; a session ARN does not carry it.
      const m = /^arn:[^:]+:iam::(\d{12}):role\/(?:.*\/)?([^/]+)$/.exec(t);
      return !!m && m[1] === caller.accountId && m[2] === callerRoleName;
    });
  }

  function assumeRole(form: URLSearchParams, caller: SimPrincipal): string {
    const p = validateAssumeRole(form);
    const role = roles.get(p.roleArn);
    // STS tells a caller no more than "not authorized": for a role that does not exist, one that does not
    // trust the caller, and a missing or wrong external id alike (IAM User Guide, "Troubleshooting IAM roles").
    const denied = () =>
      new StsError(403, 'AccessDenied', `User: ${caller.arn} is not authorized to perform: sts:AssumeRole on resource: ${p.roleArn}`);
    if (!role || !trusts(role, caller)) throw denied();
    if (role.externalId !== undefined && p.externalId !== role.externalId) throw denied();
    // AssumeRoleRequest.DurationSeconds (dist-types/models/models_0.d.ts): above the role's maximum session
    // duration fails, and a session assumed with role-session credentials (role chaining) is limited to one hour.
    const max = role.maxSessionDuration ?? 3600;
    if (p.duration > max)
      throw new StsError(400, 'ValidationError', 'The requested DurationSeconds exceeds the MaxSessionDuration set for this role.');
    if (caller.kind === 'assumed' && p.duration > 3600)
      throw new StsError(
        400,
        'ValidationError',
        'The requested DurationSeconds exceeds the 1 hour session limit for roles assumed by role chaining.',
      );
    const lifetime = opts.credentialLifetimeSeconds ?? p.duration;
    const issued = registry.issue({ roleArn: p.roleArn, roleSessionName: p.session, expiresAt: Date.now() + lifetime * 1000 });
    // Element names as the SDK's deserializer reads them (node_modules/@aws-sdk/client-sts/dist-cjs/index.js:
    // AssumeRoleResponse$ = Credentials, AssumedRoleUser, PackedPolicySize…; Credentials$ = AccessKeyId,
    // SecretAccessKey, SessionToken, Expiration (a timestamp); AssumedRoleUser$ = AssumedRoleId, Arn).
    return (
      `<AssumeRoleResponse xmlns="${XMLNS}"><AssumeRoleResult>` +
      `<Credentials><AccessKeyId>${issued.accessKeyId}</AccessKeyId><SecretAccessKey>${escapeXml(issued.secretAccessKey)}</SecretAccessKey>` +
      `<SessionToken>${escapeXml(issued.sessionToken!)}</SessionToken><Expiration>${isoSeconds(issued.expiresAt!)}</Expiration></Credentials>` +
      `<AssumedRoleUser><AssumedRoleId>${escapeXml(issued.userId)}</AssumedRoleId><Arn>${escapeXml(issued.arn)}</Arn></AssumedRoleUser>` +
      `</AssumeRoleResult><ResponseMetadata><RequestId>${randomUUID()}</RequestId></ResponseMetadata></AssumeRoleResponse>`
    );
  }

  const server = createServer((req, res) => {
    void (async () => {
      const body = await readBody(req);
      const form = new URLSearchParams(body.toString('utf8'));
      const action = form.get('Action') ?? '';
      calls.push(action);
      try {
        const caller = identify(req, body);
        let xml: string;
        if (req.method === 'POST' && action === 'GetCallerIdentity') {
          xml = `<GetCallerIdentityResponse xmlns="${XMLNS}"><GetCallerIdentityResult><Arn>${escapeXml(caller.arn)}</Arn><UserId>${escapeXml(caller.userId)}</UserId><Account>${caller.accountId}</Account></GetCallerIdentityResult><ResponseMetadata><RequestId>${randomUUID()}</RequestId></ResponseMetadata></GetCallerIdentityResponse>`;
        } else if (req.method === 'POST' && action === 'AssumeRole') {
          xml = assumeRole(form, caller);
        } else {
          throw new StsError(400, 'InvalidAction', `Could not find operation ${action || '(none)'} for version 2011-06-15`);
        }
        sendText(res, 200, xml, XML);
      } catch (err) {
        const e = err instanceof StsError ? err : new StsError(500, 'InternalFailure', `Simulator error: ${(err as Error).message}`);
        sendText(res, e.status, queryErrorXml(XMLNS, e.code, e.message, e.status >= 500 ? 'Receiver' : 'Sender'), XML);
      }
    })();
  });
  const { url, close } = await listen(server, opts.port);
  return {
    url,
    accountId,
    credentials: registry,
    calls,
    addRole: (role) => void roles.set(role.roleArn, role),
    close,
  };
}
