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
 * Operations: GetCallerIdentity (Account, Arn, UserId: the identity the
 * simulator was started with). Anything else is a 400 InvalidAction. An
 * Authorization header is required (400 MissingAuthenticationToken), so an
 * unsigned client is caught; signatures are not verified.
 */
import { randomUUID } from 'node:crypto';
import { createServer } from 'node:http';
import { escapeXml, listen, queryErrorXml, readBody, sendText } from './http';

export interface StsSimulatorOptions {
  /** The account every caller acts in. @default '123456789012' */
  readonly accountId?: string;
  /** The caller's ARN. @default an IAM user `botvault-operator` of the account */
  readonly arn?: string;
  /** @default any free port */
  readonly port?: number;
}

export interface StsSimulator {
  readonly url: string;
  readonly accountId: string;
  /** The Action of every request, in order. */
  readonly calls: string[];
  close(): Promise<void>;
}

const XMLNS = 'https://sts.amazonaws.com/doc/2011-06-15/';
const XML = { 'content-type': 'text/xml' };

const errorXml = (code: string, message: string) => queryErrorXml(XMLNS, code, message);

export async function startStsSimulator(opts: StsSimulatorOptions = {}): Promise<StsSimulator> {
  const accountId = opts.accountId ?? '123456789012';
  const arn = opts.arn ?? `arn:aws:iam::${accountId}:user/botvault-operator`;
  const calls: string[] = [];
  const server = createServer((req, res) => {
    void (async () => {
      const form = new URLSearchParams((await readBody(req)).toString('utf8'));
      const action = form.get('Action') ?? '';
      calls.push(action);
      if (!req.headers.authorization) {
        sendText(res, 400, errorXml('MissingAuthenticationToken', 'Request is missing Authentication Token'), XML);
        return;
      }
      if (req.method !== 'POST' || action !== 'GetCallerIdentity') {
        sendText(res, 400, errorXml('InvalidAction', `Could not find operation ${action || '(none)'} for version 2011-06-15`), XML);
        return;
      }
      sendText(
        res,
        200,
        `<GetCallerIdentityResponse xmlns="${XMLNS}"><GetCallerIdentityResult><Arn>${escapeXml(arn)}</Arn><UserId>AIDABOTVAULTOPERATOR</UserId><Account>${accountId}</Account></GetCallerIdentityResult><ResponseMetadata><RequestId>${randomUUID()}</RequestId></ResponseMetadata></GetCallerIdentityResponse>`,
        XML,
      );
    })();
  });
  const { url, close } = await listen(server, opts.port);
  return { url, accountId, calls, close };
}
