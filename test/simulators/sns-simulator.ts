/**
 * A local Amazon SNS over the real awsQuery protocol, for the real
 * `@aws-sdk/client-sns` client (its runtime config uses AwsQueryProtocol,
 * version 2010-03-31, XML namespace http://sns.amazonaws.com/doc/2010-03-31/):
 * point it here with `AWS_ENDPOINT_URL_SNS=<url>`.
 *
 * Operations: Publish to the topics it was started with. What SNS's Publish
 * API reference says it checks is checked: TopicArn of an existing topic
 * (404 NotFound), a non-empty Message of at most 256 KB (400
 * InvalidParameter), and a Subject that is ASCII, has no line breaks or
 * control characters and is under 100 characters (400 InvalidParameter).
 * Error codes and HTTP statuses are the client's awsQueryError traits
 * (NotFound 404, InvalidParameter 400, Throttled 429, InternalError 500).
 * An Authorization header is required (MissingAuthenticationToken).
 * failNext() injects a fault for the next publishes.
 */
import { randomUUID } from 'node:crypto';
import { createServer } from 'node:http';
import { escapeXml, listen, queryErrorXml, readBody, sendText } from './http';

const XMLNS = 'http://sns.amazonaws.com/doc/2010-03-31/';
const XML = { 'content-type': 'text/xml' };
const MAX_MESSAGE_BYTES = 256 * 1024;

interface PublishedMessage {
  readonly topicArn: string;
  readonly subject?: string;
  readonly message: string;
}

export interface SnsSimulator {
  readonly url: string;
  readonly topicArn: string;
  /** Every message accepted, in order. */
  readonly published: PublishedMessage[];
  /** The next `times` publishes fail with this awsQuery error. */
  failNext(fault: 'Throttled' | 'InternalError', times?: number): void;
  close(): Promise<void>;
}

const STATUS = { Throttled: 429, InternalError: 500 } as const;

interface SnsSimulatorOptions {
  /** The one topic Publish accepts. @default arn:aws:sns:us-east-1:123456789012:BotVault-Alarms */
  readonly topicArn?: string;
  /** @default any free port */
  readonly port?: number;
}

export async function startSnsSimulator(opts: SnsSimulatorOptions = {}): Promise<SnsSimulator> {
  const topicArn = opts.topicArn ?? 'arn:aws:sns:us-east-1:123456789012:BotVault-Alarms';
  const published: PublishedMessage[] = [];
  const faults: ('Throttled' | 'InternalError')[] = [];
  const server = createServer((req, res) => {
    void (async () => {
      const form = new URLSearchParams((await readBody(req)).toString('utf8'));
      const fail = (status: number, code: string, message: string) =>
        sendText(res, status, queryErrorXml(XMLNS, code, message, status >= 500 ? 'Receiver' : 'Sender'), XML);
      if (!req.headers.authorization) return fail(400, 'MissingAuthenticationToken', 'Request is missing Authentication Token');
      const action = form.get('Action');
      if (req.method !== 'POST' || action !== 'Publish') return fail(400, 'InvalidAction', `Could not find operation ${action ?? '(none)'}`);
      const fault = faults.shift();
      if (fault) return fail(STATUS[fault], fault, fault === 'Throttled' ? 'Rate exceeded' : 'Internal error');
      const arn = form.get('TopicArn');
      if (!arn) return fail(400, 'InvalidParameter', 'Invalid parameter: TopicArn or TargetArn Reason: no value for required parameter');
      if (arn !== topicArn) return fail(404, 'NotFound', 'Topic does not exist');
      const message = form.get('Message');
      if (!message) return fail(400, 'InvalidParameter', 'Invalid parameter: Empty message');
      if (Buffer.byteLength(message) > MAX_MESSAGE_BYTES) return fail(400, 'InvalidParameter', 'Invalid parameter: Message too long');
      const subject = form.get('Subject') ?? undefined;
      if (subject !== undefined && (subject.length === 0 || subject.length >= 100 || !/^[\x20-\x7e]+$/.test(subject))) {
        return fail(400, 'InvalidParameter', 'Invalid parameter: Subject');
      }
      published.push({ topicArn: arn, ...(subject !== undefined ? { subject } : {}), message });
      sendText(
        res,
        200,
        `<PublishResponse xmlns="${XMLNS}"><PublishResult><MessageId>${escapeXml(randomUUID())}</MessageId></PublishResult><ResponseMetadata><RequestId>${randomUUID()}</RequestId></ResponseMetadata></PublishResponse>`,
        XML,
      );
    })();
  });
  const { url, close } = await listen(server, opts.port);
  return {
    url,
    topicArn,
    published,
    failNext(fault, times = 1) {
      for (let i = 0; i < times; i++) faults.push(fault);
    },
    close,
  };
}
