/**
 * A CloudFormation simulator for tests: DescribeStacks only, in the real
 * awsQuery protocol (form-encoded POST, XML reply), so the CLI's stack lookup
 * runs through the real @aws-sdk/client-cloudformation. Point it here with
 * AWS_ENDPOINT_URL_CLOUDFORMATION.
 */
import { randomUUID } from 'node:crypto';
import { createServer, type ServerResponse } from 'node:http';
import { listen, readBody } from './http';

interface SimStack {
  readonly outputs: Readonly<Record<string, string>>;
  /** @default 'CREATE_COMPLETE' */
  readonly status?: string;
}

export interface CfnSimulatorOptions {
  /** Stack name → its outputs. */
  readonly stacks: Readonly<Record<string, SimStack>>;
  /** @default 'us-east-1' */
  readonly region?: string;
  readonly port?: number;
}

export interface CfnSimulator {
  readonly url: string;
  /** Every DescribeStacks' StackName, in order. */
  readonly calls: string[];
  close(): Promise<void>;
}

const NS = 'http://cloudformation.amazonaws.com/doc/2010-05-15/';

const xml = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;').replace(/'/g, '&apos;');

export async function startCfnSimulator(opts: CfnSimulatorOptions): Promise<CfnSimulator> {
  const region = opts.region ?? 'us-east-1';
  const calls: string[] = [];
  const created = new Date().toISOString();
  const stackId = (name: string) => `arn:aws:cloudformation:${region}:000000000000:stack/${name}/${randomUUID()}`;
  const ids = new Map(Object.keys(opts.stacks).map((name) => [name, stackId(name)]));

  const stackXml = (name: string, stack: SimStack) => {
    const outputs = Object.entries(stack.outputs)
      .map(([k, v]) => `<member><OutputKey>${xml(k)}</OutputKey><OutputValue>${xml(v)}</OutputValue></member>`)
      .join('');
    return (
      `<member><StackName>${xml(name)}</StackName><StackId>${xml(ids.get(name)!)}</StackId>` +
      `<CreationTime>${created}</CreationTime><StackStatus>${xml(stack.status ?? 'CREATE_COMPLETE')}</StackStatus>` +
      `<Outputs>${outputs}</Outputs></member>`
    );
  };

  const server = createServer((req, res) => {
    void readBody(req).then((raw) => {
      const params = new URLSearchParams(raw.toString('utf8'));
      const action = params.get('Action');
      if (req.method !== 'POST' || action !== 'DescribeStacks') {
        return error(res, 400, 'InvalidAction', `The action ${action ?? '(none)'} is not valid for this web service.`);
      }
      if (!/Credential=[^/]+\//.test(String(req.headers.authorization ?? ''))) {
        return error(res, 403, 'MissingAuthenticationToken', 'Request is missing Authentication Token');
      }
      const wanted = params.get('StackName') ?? undefined;
      calls.push(wanted ?? '');
      // StackName may be a name or a stack id (ARN).
      const name = wanted === undefined ? undefined : [...ids.entries()].find(([n, id]) => n === wanted || id === wanted)?.[0];
      if (wanted !== undefined && name === undefined) return error(res, 400, 'ValidationError', `Stack with id ${wanted} does not exist`);
      const members = (name ? [name] : Object.keys(opts.stacks)).map((n) => stackXml(n, opts.stacks[n]!)).join('');
      const body =
        `<DescribeStacksResponse xmlns="${NS}"><DescribeStacksResult><Stacks>${members}</Stacks></DescribeStacksResult>` +
        `<ResponseMetadata><RequestId>${randomUUID()}</RequestId></ResponseMetadata></DescribeStacksResponse>`;
      res.writeHead(200, { 'content-type': 'text/xml', 'x-amzn-requestid': randomUUID() });
      res.end(body);
    });
  });

  const { url, close } = await listen(server, opts.port);
  return { url, calls, close };
}

function error(res: ServerResponse, status: number, code: string, message: string): void {
  const requestId = randomUUID();
  res.writeHead(status, { 'content-type': 'text/xml', 'x-amzn-requestid': requestId });
  res.end(
    `<ErrorResponse xmlns="${NS}"><Error><Type>Sender</Type><Code>${code}</Code><Message>${xml(message)}</Message></Error>` +
      `<RequestId>${requestId}</RequestId></ErrorResponse>`,
  );
}
