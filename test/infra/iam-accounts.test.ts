/**
 * Member accounts and other regions in the template (issue 16): the
 * functions may assume exactly the configured roles (Service Authorization
 * Reference for AWS STS: sts:AssumeRole takes the `role` resource), a target
 * in a member account adds no Lex permission in the stack's own account, and
 * a target in another region of the stack's account gets Lex ARNs of that
 * region. Config mistakes about accounts stop synth naming the field.
 */
import { describe, expect, it } from 'vitest';
import { ConfigError, parseConfig } from '../../lib/config/config';
import { ACCOUNT, REGION, functionStatements, synth } from './helpers';

const PROD = '222233334444';
const DEV = '333344445555';
const PROD_ROLE = `arn:aws:iam::${PROD}:role/BotVaultBackup`;
const DEV_ROLE = `arn:aws:iam::${DEV}:role/team/BotVaultBackup`;
const ACCOUNTS = [
  { id: PROD, name: 'prod', roleArn: PROD_ROLE, externalId: 'botvault-prod-1' },
  { id: DEV, name: 'dev', roleArn: DEV_ROLE },
  // Listed but named by no target: its role must not be assumable.
  { id: '444455556666', name: 'unused', roleArn: 'arn:aws:iam::444455556666:role/BotVaultBackup' },
];
const FUNCTIONS = ['Plan', 'StartExport', 'CheckExport', 'StoreArchive', 'Cleanup', 'Summarize'] as const;

type Statement = { Action: string | string[]; Resource: string | string[] };
const actions = (s: Statement) => [s.Action].flat();
const resources = (s: Statement) => [s.Resource].flat();
const assumable = (json: Parameters<typeof functionStatements>[0], fn: string) =>
  (functionStatements(json, `${fn}Function`) as Statement[])
    .filter((s) => actions(s).includes('sts:AssumeRole'))
    .flatMap(resources)
    .sort();
const lexResources = (json: Parameters<typeof functionStatements>[0], fn: string) =>
  (functionStatements(json, `${fn}Function`) as Statement[])
    .filter((s) => actions(s).some((a) => a.startsWith('lex:')))
    .flatMap(resources)
    .sort();

describe('IAM with member accounts', () => {
  const { json } = synth({
    accounts: ACCOUNTS,
    targets: [
      { provider: 'lex', discover: true, accounts: ['prod'], regions: ['us-east-1', 'eu-west-1'] },
      { provider: 'lex', botId: 'DEVBOT0001', botVersion: 'DRAFT', account: 'dev' },
    ],
  });

  it('Plan may assume only the role of the account a discovery lists; the job functions both configured roles; Summarize none', () => {
    expect(assumable(json, 'Plan')).toEqual([PROD_ROLE]);
    for (const fn of ['StartExport', 'CheckExport', 'StoreArchive', 'Cleanup']) expect(assumable(json, fn), fn).toEqual([PROD_ROLE, DEV_ROLE].sort());
    expect(assumable(json, 'Summarize')).toEqual([]);
  });

  it('no statement anywhere lets a function assume a role by wildcard or an unused account’s role', () => {
    for (const fn of FUNCTIONS) {
      for (const r of assumable(json, fn)) {
        expect(r, fn).not.toContain('*');
        expect(r, fn).not.toContain('444455556666');
      }
    }
  });

  it('a target in a member account adds no Lex permission in the stack’s own account (the member role has them)', () => {
    for (const fn of FUNCTIONS) expect(lexResources(json, fn), fn).toEqual([]);
  });
});

describe('IAM with other regions of the stack’s own account', () => {
  const { json } = synth({
    targets: [
      { provider: 'lex', discover: true, regions: [REGION, 'us-west-2'] },
      { provider: 'lex', botId: 'APBOT00001', botVersion: 'DRAFT', region: 'ap-southeast-2' },
    ],
  });

  it('Lex ARNs of each region a target names, in the stack’s account; no role to assume', () => {
    const bot = (region: string, name: string) => `arn:aws:lex:${region}:${ACCOUNT}:bot/${name}`;
    expect(new Set(lexResources(json, 'StartExport'))).toEqual(
      new Set([bot(REGION, '*'), bot('us-west-2', '*'), bot('ap-southeast-2', 'APBOT00001')]),
    );
    expect(lexResources(json, 'Plan')).toEqual(expect.arrayContaining([bot('us-west-2', '*'), '*']));
    expect(lexResources(json, 'Plan')).not.toContain(bot('ap-southeast-2', 'APBOT00001'));
    for (const fn of FUNCTIONS) expect(assumable(json, fn), fn).toEqual([]);
  });
});

describe('config: accounts', () => {
  const issues = (raw: Record<string, unknown>) => {
    try {
      parseConfig(raw);
    } catch (err) {
      if (err instanceof ConfigError) return err.issues.map((i) => `${i.path}: ${i.message}`);
      throw err;
    }
    return [];
  };
  const LEX = { provider: 'lex', botId: 'ABCDEFGHIJ', botVersion: 'DRAFT' };

  it('a target naming an account that is not listed names the field and the known accounts', () => {
    expect(issues({ accounts: ACCOUNTS.slice(0, 1), targets: [{ ...LEX, account: 'staging' }] })).toEqual([
      'targets[0].account: names "staging" is not an entry of accounts (known: "home", "prod"); add {"id": "…", "roleArn": "…"} to accounts, or use "home" for the stack\'s own account',
    ]);
    expect(issues({ targets: [{ provider: 'lex', discover: true, accounts: ['home', '999988887777'] }] })[0]).toMatch(
      /^targets\[0\]\.accounts: names "999988887777" is not an entry of accounts/,
    );
  });

  it('a role in another account than the entry, a duplicate id or name, and "home" as a name are refused', () => {
    expect(
      issues({
        accounts: [
          { id: PROD, name: 'prod', roleArn: DEV_ROLE },
          { id: PROD, name: 'home', roleArn: PROD_ROLE },
        ],
        targets: [LEX],
      }),
    ).toEqual([
      `accounts[0].roleArn: names account ${DEV}, not this entry's id ${PROD}: the role must be in the member account`,
      `accounts[1].id: "${PROD}" is already used by accounts[0]`,
      'accounts[1].name: "home" means the stack\'s own account; give this one another name',
    ]);
  });

  it('malformed ids, role ARNs, external IDs and regions name the field', () => {
    const found = issues({
      accounts: [{ id: '12345', roleArn: 'arn:aws:iam::222233334444:user/bob', externalId: 'x' }],
      targets: [{ ...LEX, region: 'Europe' }],
    });
    expect(found).toEqual([
      'accounts[0].id: must be a 12-digit AWS account id such as "111122223333"',
      'accounts[0].roleArn: must be an IAM role ARN such as "arn:aws:iam::111122223333:role/BotVaultBackup"',
      'accounts[0].externalId: must be 2 to 1224 characters of letters, digits and +=,.@:/-_ (STS AssumeRole ExternalId)',
      'targets[0].region: must be an AWS region such as "us-east-1" or "eu-west-1"',
    ]);
  });

  it('a discovery naming one account or region twice is refused', () => {
    expect(
      issues({
        accounts: ACCOUNTS.slice(0, 1),
        targets: [{ provider: 'lex', discover: true, accounts: ['prod', PROD], regions: ['us-east-1', 'us-east-1'] }],
      }),
    ).toEqual([
      `targets[0].accounts: names account ${PROD} twice (by id and by name, or repeated); name each once`,
      'targets[0].regions: names us-east-1 twice; name each region once',
    ]);
  });

  it('a static target takes account/region, a discovery accounts/regions, and each says which', () => {
    expect(issues({ targets: [{ ...LEX, accounts: ['home'], regions: ['us-east-1'] }] })).toEqual([
      'targets[0].accounts: only applies with "discover": true; a static target lives in one place: "account": "…"',
      'targets[0].regions: only applies with "discover": true; a static target lives in one place: "region": "…"',
    ]);
    expect(issues({ targets: [{ provider: 'lex', discover: true, account: 'home', region: 'us-east-1' }] })).toEqual([
      'targets[0].account: is for a static target; a discovery target takes "accounts": [...]',
      'targets[0].region: is for a static target; a discovery target takes "regions": [...]',
    ]);
  });
});
