/**
 * The member-account roles (lib/constructs/member-account-role.ts) and their
 * template (lib/member-account-stack.ts): who may assume each role, exactly
 * what each may do, that restore is separate and opt-in, the props' checks,
 * the template's parameters and condition, and cdk-nag.
 *
 * Resource types per action: Service Authorization Reference, "Actions,
 * resources, and condition keys for Amazon Lex V2"; the import's required
 * actions: Amazon Lex V2 Developer Guide, "Importing bots in Lex V2".
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { App, CfnParameter, type Environment, Stack, Validations } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import * as iam from 'aws-cdk-lib/aws-iam';
import { AwsSolutionsChecks } from 'cdk-nag';
import { afterAll, describe, expect, it } from 'vitest';
import { cdkJsonContext } from '../../lib/cdk-context';
import {
  BotVaultMemberRoles,
  type BotVaultMemberRolesProps,
  MEMBER_BACKUP_ACTIONS,
  MEMBER_RESTORE_ACTIONS,
} from '../../lib/constructs/member-account-role';
import { BotVaultMemberAccountStack, MEMBER_STACK_NAME } from '../../lib/member-account-stack';
import { PROJECT_ROOT } from '../../lib/project-root';
import { lexGrants } from '../../lib/providers/lex/grants';
import type { LexTarget } from '../../lib/providers/lex/target';

const MEMBER = '444455556666';
const HOME = '111122223333';
const PLAN = `arn:aws:iam::${HOME}:role/BotVault-PlanRole1234`;
const STORE = `arn:aws:iam::${HOME}:role/BotVault-StoreArchiveRole5678`;
const OPERATOR = `arn:aws:iam::${HOME}:role/aws-reserved/sso.amazonaws.com/eu-west-1/AWSReservedSSO_Restore_0123456789abcdef`;
const EXTERNAL_ID = 'botvault-7f3a9c';
const BASE: BotVaultMemberRolesProps = { trustedRoleArns: [PLAN, STORE], externalId: EXTERNAL_ID };

interface CfnRole {
  Type: string;
  Condition?: string;
  Properties: {
    RoleName: string;
    AssumeRolePolicyDocument: unknown;
    Policies: { PolicyName: string; PolicyDocument: { Statement: Statement[] } }[];
  };
}
interface Statement {
  Sid: string;
  Action: string | string[];
  Resource: unknown;
  Condition?: unknown;
}

/** `{"Fn::Join": ["", ["arn:", {"Ref": "AWS::Partition"}, ...]]}` → `arn:<AWS::Partition>:...`; `{"Ref": "X"}` → `<X>`. */
function render(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(render);
  if (!value || typeof value !== 'object') return value;
  const obj = value as Record<string, unknown>;
  if ('Ref' in obj) return `<${String(obj.Ref)}>`;
  if ('Fn::Join' in obj) {
    const [sep, parts] = obj['Fn::Join'] as [string, unknown[]];
    return parts.map((p) => String(render(p))).join(sep);
  }
  return Object.fromEntries(Object.entries(obj).map(([k, v]) => [k, render(v)]));
}

/** The construct in a stack of the member account (literal account and partition), with cdk.json's feature flags. */
function synthRoles(props: BotVaultMemberRolesProps, env: Environment | undefined = { account: MEMBER, region: 'eu-west-1' }) {
  const app = new App({ context: cdkJsonContext() });
  const stack = new Stack(app, 'Member', env ? { env } : {});
  const roles = new BotVaultMemberRoles(stack, 'Roles', props);
  const json = Template.fromStack(stack).toJSON() as { Resources: Record<string, CfnRole> };
  const iamRoles = Object.values(json.Resources).filter((r) => r.Type === 'AWS::IAM::Role');
  const named = (name: string) => {
    const role = iamRoles.find((r) => r.Properties.RoleName === name);
    if (!role) throw new Error(`no role named ${name}`);
    return role;
  };
  return { roles, json, iamRoles, named };
}

const statementsOf = (role: CfnRole) => role.Properties.Policies.flatMap((p) => render(p.PolicyDocument.Statement) as Statement[]);
const actionsOf = (role: CfnRole) => statementsOf(role).flatMap((s) => (Array.isArray(s.Action) ? s.Action : [s.Action]));
const lex = (resource: string, region = '*') => `arn:aws:lex:${region}:${MEMBER}:${resource}`;

/** Every trust policy here: exactly these principals, only with the external ID. */
const trust = (principals: unknown, externalId: unknown = EXTERNAL_ID) => ({
  Version: '2012-10-17',
  Statement: [
    {
      Action: 'sts:AssumeRole',
      Effect: 'Allow',
      Principal: { AWS: principals },
      Condition: { StringEquals: { 'sts:ExternalId': externalId } },
    },
  ],
});

const BACKUP_STATEMENTS = [
  { Sid: 'ListBots', Action: 'lex:ListBots', Effect: 'Allow', Resource: '*' },
  {
    Sid: 'ReadBots',
    Action: [
      'lex:DescribeBot',
      'lex:DescribeBotLocale',
      'lex:DescribeCustomVocabulary',
      'lex:DescribeIntent',
      'lex:DescribeSlot',
      'lex:DescribeSlotType',
      'lex:ListBotAliases',
      'lex:ListBotLocales',
      'lex:ListBotVersions',
      'lex:ListIntents',
      'lex:ListSlotTypes',
      'lex:ListSlots',
      'lex:ListTagsForResource',
    ],
    Effect: 'Allow',
    Resource: lex('bot/*'),
  },
  {
    Sid: 'Exports',
    Action: ['lex:CreateExport', 'lex:DeleteExport', 'lex:DescribeExport'],
    Effect: 'Allow',
    Resource: [lex('bot/*'), lex('test-set/*')],
  },
  { Sid: 'ReadTestSets', Action: 'lex:DescribeTestSet', Effect: 'Allow', Resource: lex('test-set/*') },
  { Sid: 'ReadBotAliases', Action: 'lex:DescribeBotAlias', Effect: 'Allow', Resource: lex('bot-alias/*/*') },
];

const IMPORT_ACTIONS = [
  'lex:CreateBotLocale',
  'lex:CreateCustomVocabulary',
  'lex:CreateIntent',
  'lex:CreateSlot',
  'lex:CreateSlotType',
  'lex:DeleteBot',
  'lex:DeleteBotLocale',
  'lex:DeleteCustomVocabulary',
  'lex:DeleteIntent',
  'lex:DeleteSlot',
  'lex:DeleteSlotType',
  'lex:TagResource',
  'lex:UpdateBot',
  'lex:UpdateBotLocale',
  'lex:UpdateCustomVocabulary',
  'lex:UpdateIntent',
  'lex:UpdateSlot',
  'lex:UpdateSlotType',
];
const RESTORE_STATEMENTS = [
  { Sid: 'UploadAndFind', Action: ['lex:CreateUploadUrl', 'lex:ListBots'], Effect: 'Allow', Resource: '*' },
  {
    Sid: 'ReadBots',
    Action: ['lex:DescribeBot', 'lex:DescribeBotVersion', 'lex:DescribeImport', 'lex:ListBotLocales'],
    Effect: 'Allow',
    Resource: lex('bot/*'),
  },
  { Sid: 'StartImport', Action: ['lex:CreateBot', 'lex:StartImport'], Effect: 'Allow', Resource: [lex('bot-alias/*/*'), lex('bot/*')] },
  { Sid: 'ImportDefinitions', Action: IMPORT_ACTIONS, Effect: 'Allow', Resource: lex('bot/*') },
  { Sid: 'ReadTestBotAlias', Action: 'lex:DescribeBotAlias', Effect: 'Allow', Resource: lex('bot-alias/*/*') },
  {
    Sid: 'PassBotRoleToLex',
    Action: 'iam:PassRole',
    Effect: 'Allow',
    Resource: `arn:aws:iam::${MEMBER}:role/*`,
    Condition: { StringEquals: { 'iam:PassedToService': 'lexv2.amazonaws.com' } },
  },
];

describe('BotVaultMemberRoles: the backup role', () => {
  const { roles, iamRoles, named } = synthRoles(BASE);
  const backup = named('BotVaultBackup');

  it('trusts exactly the given function roles, and only with the external ID', () => {
    expect(backup.Properties.AssumeRolePolicyDocument).toEqual(trust([PLAN, STORE]));
  });

  it('may do exactly the backup calls, each on its resource type', () => {
    expect(backup.Properties.Policies.map((p) => p.PolicyName)).toEqual(['LexBackup']);
    expect(statementsOf(backup)).toEqual(BACKUP_STATEMENTS);
  });

  it('can change no bot: its only writes are the exports themselves', () => {
    const writes = actionsOf(backup).filter((a) => !/^lex:(List|Describe)/.test(a));
    expect(writes.sort()).toEqual(['lex:CreateExport', 'lex:DeleteExport']);
  });

  it('grants what the home functions get for a discovery target and a test set (lib/providers/lex/grants.ts), no more, no less', () => {
    const granted = new Set<string>();
    const resources = new Set<string>();
    const ctx = {
      accounts: [],
      allow: (_fn: string, actions: readonly string[], res: readonly string[]) => {
        if (res.length === 0) return;
        for (const a of actions) if (a.startsWith('lex:')) granted.add(a);
        for (const r of res) if (r === '*' || r.includes(':lex:')) resources.add(r.replace(/^arn:lex:/, ''));
      },
      arn: (r: { resource: string; name: string; sep: string }) => `arn:lex:${r.resource}${r.sep}${r.name}`,
      secretArn: (ref: string) => ref,
      acknowledgeWildcard: () => {},
    };
    const targets = [
      { provider: 'lex', discover: true },
      { provider: 'lex', testSetId: 'TESTSET001' },
    ] as LexTarget[];
    lexGrants.grant(targets, ctx);
    expect(new Set(actionsOf(backup))).toEqual(granted);
    // grants.ts names one test set; the member role allows any (`test-set/*`): a config names them without a redeploy there.
    expect([...resources].sort()).toEqual(['*', 'bot-alias/*', 'bot/*', 'test-set/TESTSET001']);
    expect(Object.values(MEMBER_BACKUP_ACTIONS).flat().sort()).toEqual([...granted].sort());
  });

  it('is named BotVaultBackup by default, and there is no restore role without restore principals', () => {
    expect(iamRoles).toHaveLength(1);
    expect(roles.restoreRole).toBeUndefined();
    expect(roles.backupRole.node.defaultChild).toBeDefined();
  });

  it('takes another name', () => {
    expect(synthRoles({ ...BASE, backupRoleName: 'Vault-Reader' }).named('Vault-Reader').Properties.RoleName).toBe('Vault-Reader');
  });
});

describe('BotVaultMemberRoles: the restore role', () => {
  const { roles, iamRoles, named } = synthRoles({ ...BASE, restorePrincipalArns: [OPERATOR] });
  const restore = named('BotVaultRestore');
  const backup = named('BotVaultBackup');

  it('exists only with restore principals, beside an unchanged backup role', () => {
    expect(iamRoles).toHaveLength(2);
    expect(roles.restoreRole).toBeDefined();
    expect(statementsOf(backup)).toEqual(BACKUP_STATEMENTS);
  });

  it('trusts exactly the restore principals (not the functions), with the same external ID', () => {
    expect(restore.Properties.AssumeRolePolicyDocument).toEqual(trust(OPERATOR));
  });

  it('may do exactly what a Lex restore calls and what the import requires', () => {
    expect(restore.Properties.Policies.map((p) => p.PolicyName)).toEqual(['LexRestore']);
    expect(statementsOf(restore)).toEqual(RESTORE_STATEMENTS);
    expect(Object.values(MEMBER_RESTORE_ACTIONS).flat().sort()).toEqual(
      actionsOf(restore)
        .filter((a) => a.startsWith('lex:'))
        .sort(),
    );
  });

  it('passes roles to Lex V2 alone', () => {
    const passRole = statementsOf(restore).filter(
      (s) => s.Action === 'iam:PassRole' || (Array.isArray(s.Action) && s.Action.includes('iam:PassRole')),
    );
    expect(passRole).toHaveLength(1);
    expect(passRole[0]!.Condition).toEqual({ StringEquals: { 'iam:PassedToService': 'lexv2.amazonaws.com' } });
    expect(actionsOf(restore).filter((a) => a.startsWith('iam:'))).toEqual(['iam:PassRole']);
  });

  it('keeps the two apart: the restore actions only on the restore role, the exports only on the backup role', () => {
    const backupActions = new Set(actionsOf(backup));
    for (const a of ['lex:StartImport', 'lex:CreateUploadUrl', 'lex:CreateBot', 'iam:PassRole', ...IMPORT_ACTIONS])
      expect(backupActions.has(a), a).toBe(false);
    const restoreActions = new Set(actionsOf(restore));
    for (const a of MEMBER_BACKUP_ACTIONS.exports) expect(restoreActions.has(a), a).toBe(false);
  });

  it('limits PassRole to the bot roles given', () => {
    const lexRole = `arn:aws:iam::${MEMBER}:role/lex/*`;
    const { named: n } = synthRoles({ ...BASE, restorePrincipalArns: [OPERATOR], botRoleArns: [lexRole] });
    expect(statementsOf(n('BotVaultRestore')).find((s) => s.Sid === 'PassBotRoleToLex')!.Resource).toBe(lexRole);
  });

  it('takes another name', () => {
    const { named: n } = synthRoles({ ...BASE, restorePrincipalArns: [OPERATOR], restoreRoleName: 'Vault-Restorer' });
    expect(n('Vault-Restorer').Properties.AssumeRolePolicyDocument).toEqual(trust(OPERATOR));
  });
});

describe('BotVaultMemberRoles: regions', () => {
  const { named } = synthRoles({ ...BASE, restorePrincipalArns: [OPERATOR], regions: ['us-east-1', 'eu-west-1', 'us-east-1'] });
  const requested = { StringEquals: { 'aws:RequestedRegion': ['eu-west-1', 'us-east-1'] } };

  it('names each region in the Lex ARNs instead of `*`', () => {
    const reads = statementsOf(named('BotVaultBackup')).find((s) => s.Sid === 'ReadBots')!;
    expect(reads.Resource).toEqual([lex('bot/*', 'eu-west-1'), lex('bot/*', 'us-east-1')]);
    const aliases = statementsOf(named('BotVaultRestore')).find((s) => s.Sid === 'ReadTestBotAlias')!;
    expect(aliases.Resource).toEqual([lex('bot-alias/*/*', 'eu-west-1'), lex('bot-alias/*/*', 'us-east-1')]);
  });

  it('keeps the calls without a resource type to those regions (aws:RequestedRegion)', () => {
    expect(statementsOf(named('BotVaultBackup')).find((s) => s.Sid === 'ListBots')!.Condition).toEqual(requested);
    expect(statementsOf(named('BotVaultRestore')).find((s) => s.Sid === 'UploadAndFind')!.Condition).toEqual(requested);
  });

  it('has no region condition without regions', () => {
    expect(statementsOf(synthRoles(BASE).named('BotVaultBackup')).find((s) => s.Sid === 'ListBots')!.Condition).toBeUndefined();
  });
});

describe('BotVaultMemberRoles: props are checked', () => {
  const fails = (props: Partial<BotVaultMemberRolesProps>) => () => synthRoles({ ...BASE, ...props });

  it('refuses a trusted ARN that is not a role, and an empty list', () => {
    expect(fails({ trustedRoleArns: [PLAN, `arn:aws:iam::${HOME}:user/alice`] })).toThrow(
      `BotVaultMemberRoles: trustedRoleArns has "arn:aws:iam::${HOME}:user/alice", which is not an IAM role ARN`,
    );
    expect(fails({ trustedRoleArns: [`arn:aws:iam::${HOME}:root`] })).toThrow(/trustedRoleArns has .*root.*not an IAM role ARN/);
    expect(fails({ trustedRoleArns: ['BotVault-PlanRole1234'] })).toThrow(/not an IAM role ARN such as "arn:aws:iam::/);
    expect(fails({ trustedRoleArns: [] })).toThrow('trustedRoleArns is empty: name at least one ARN');
  });

  it('refuses an external ID STS would refuse', () => {
    expect(fails({ externalId: 'x' })).toThrow(
      'externalId must be 2 to 1224 characters of letters, digits and +=,.@:/-_ (STS AssumeRole ExternalId); got 1 character(s).',
    );
    expect(fails({ externalId: 'has space' })).toThrow(/got 9 character\(s\) with one outside that set/);
    expect(fails({ externalId: 'a'.repeat(1225) })).toThrow(/got 1225 character\(s\)\.$/);
    expect(fails({ externalId: `a:b/c=d,e.f@g+h-i_${'z'.repeat(1205)}` })).not.toThrow();
  });

  it('refuses restore principals that are not roles or users, and an empty list', () => {
    expect(fails({ restorePrincipalArns: [`arn:aws:iam::${HOME}:root`] })).toThrow(
      /restorePrincipalArns has .*, which is not an IAM role or user ARN/,
    );
    expect(fails({ restorePrincipalArns: [] })).toThrow(
      'restorePrincipalArns is empty: name at least one ARN such as "arn:aws:iam::111122223333:role/Operator", or leave it out for no restore role.',
    );
    expect(fails({ restorePrincipalArns: [`arn:aws:iam::${HOME}:user/ops/alice`] })).not.toThrow();
  });

  it('refuses bad regions, role names and bot roles', () => {
    expect(fails({ regions: ['eu-west'] })).toThrow('regions has "eu-west", which is not an AWS region such as "eu-west-1".');
    expect(fails({ regions: [] })).toThrow(/regions is empty/);
    expect(fails({ backupRoleName: 'has space' })).toThrow(/backupRoleName "has space" must be 1 to 64 characters/);
    expect(fails({ restorePrincipalArns: [OPERATOR], restoreRoleName: 'BotVaultBackup' })).toThrow(/the two roles need two names/);
    expect(fails({ restorePrincipalArns: [OPERATOR], botRoleArns: ['*'] })).toThrow(
      /botRoleArns has "\*", which is not an IAM role ARN \(or pattern\)/,
    );
  });

  it('leaves tokens to CloudFormation', () => {
    const app = new App();
    const stack = new Stack(app, 'Tokens');
    const list = (id: string) => new CfnParameter(stack, id, { type: 'CommaDelimitedList' }).valueAsList;
    const externalId = new CfnParameter(stack, 'Ext', { type: 'String' }).valueAsString;
    expect(() => new BotVaultMemberRoles(stack, 'Roles', { trustedRoleArns: list('A'), externalId, restorePrincipalArns: list('B') })).not.toThrow();
  });
});

describe('BotVaultMemberAccount template', () => {
  const app = new App({ context: cdkJsonContext() });
  const stack = new BotVaultMemberAccountStack(app);
  const template = Template.fromStack(stack);
  const json = template.toJSON() as {
    Parameters: Record<string, Record<string, unknown>>;
    Conditions: Record<string, unknown>;
    Resources: Record<string, CfnRole>;
    Outputs: Record<string, { Value: unknown; Condition?: string }>;
    Rules?: unknown;
  };
  const roles = Object.entries(json.Resources).filter(([, r]) => r.Type === 'AWS::IAM::Role');
  const role = (name: string) => roles.find(([, r]) => r.Properties.RoleName === name)!;

  it('is named BotVaultMemberAccount and needs no bootstrap stack (no BootstrapVersion parameter, no rule)', () => {
    expect(stack.stackName).toBe(MEMBER_STACK_NAME);
    expect(Object.keys(json.Parameters).sort()).toEqual(['ExternalId', 'RestorePrincipalArns', 'TrustedRoleArns']);
    expect(json.Rules).toBeUndefined();
    expect(Object.values(json.Resources).map((r) => r.Type)).toEqual(['AWS::IAM::Role', 'AWS::IAM::Role']);
  });

  it('takes the function roles as a required list, the external ID shown, restore principals as an optional list', () => {
    expect(json.Parameters.TrustedRoleArns).toMatchObject({ Type: 'CommaDelimitedList' });
    expect(json.Parameters.TrustedRoleArns).not.toHaveProperty('Default');
    expect(json.Parameters.ExternalId).toMatchObject({ Type: 'String', MinLength: 2, MaxLength: 1224, NoEcho: false });
    expect(json.Parameters.RestorePrincipalArns).toMatchObject({ Type: 'CommaDelimitedList', Default: '' });
  });

  it("checks each parameter value as the construct does (CloudFormation's AllowedPattern, per list value)", () => {
    const matches = (param: string, value: string) => new RegExp(`^(?:${json.Parameters[param]!.AllowedPattern as string})$`).test(value);
    expect(matches('TrustedRoleArns', PLAN)).toBe(true);
    expect(matches('TrustedRoleArns', `arn:aws-us-gov:iam::${HOME}:role/path/BotVault-Plan`)).toBe(true);
    expect(matches('TrustedRoleArns', `arn:aws:iam::${HOME}:user/alice`)).toBe(false);
    expect(matches('TrustedRoleArns', '')).toBe(false);
    expect(matches('RestorePrincipalArns', '')).toBe(true);
    expect(matches('RestorePrincipalArns', OPERATOR)).toBe(true);
    expect(matches('RestorePrincipalArns', `arn:aws:iam::${HOME}:user/alice`)).toBe(true);
    expect(matches('RestorePrincipalArns', `arn:aws:iam::${HOME}:root`)).toBe(false);
    expect(matches('ExternalId', EXTERNAL_ID)).toBe(true);
    expect(matches('ExternalId', 'has space')).toBe(false);
  });

  it('creates the restore role only when RestorePrincipalArns is not empty', () => {
    expect(json.Conditions.HasRestorePrincipals).toEqual({
      'Fn::Not': [{ 'Fn::Equals': [{ 'Fn::Join': ['', { Ref: 'RestorePrincipalArns' }] }, ''] }],
    });
    expect(role('BotVaultRestore')[1].Condition).toBe('HasRestorePrincipals');
    expect(role('BotVaultBackup')[1].Condition).toBeUndefined();
    expect(json.Outputs.RestoreRoleArn).toEqual({
      Description: expect.any(String),
      Value: { 'Fn::GetAtt': [role('BotVaultRestore')[0], 'Arn'] },
      Condition: 'HasRestorePrincipals',
    });
  });

  it('trusts the parameters: the lists as given, the external ID', () => {
    expect(role('BotVaultBackup')[1].Properties.AssumeRolePolicyDocument).toEqual(trust({ Ref: 'TrustedRoleArns' }, { Ref: 'ExternalId' }));
    expect(role('BotVaultRestore')[1].Properties.AssumeRolePolicyDocument).toEqual(trust({ Ref: 'RestorePrincipalArns' }, { Ref: 'ExternalId' }));
  });

  it('is environment-agnostic: the account and partition of wherever it is deployed', () => {
    const resources = JSON.stringify(json.Resources);
    expect(resources).not.toMatch(/\d{12}/);
    expect(resources).not.toContain('arn:aws:');
    const reads = statementsOf(role('BotVaultBackup')[1]).find((s) => s.Sid === 'ReadBots')!;
    expect(reads.Resource).toBe('arn:<AWS::Partition>:lex:*:<AWS::AccountId>:bot/*');
  });

  it('outputs the backup role ARN', () => {
    expect(json.Outputs.BackupRoleArn).toEqual({ Description: expect.any(String), Value: { 'Fn::GetAtt': [role('BotVaultBackup')[0], 'Arn'] } });
  });

  it('is what `npm run member-template` writes', () => {
    const dir = mkdtempSync(join(tmpdir(), 'botvault-member-test-'));
    try {
      const file = join(dir, 'member.json');
      execFileSync(process.execPath, ['--import', 'tsx', 'scripts/member-template.ts', file], { cwd: PROJECT_ROOT, stdio: 'pipe' });
      expect(JSON.parse(readFileSync(file, 'utf8'))).toEqual(json);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('cdk-nag AwsSolutions', () => {
  const dirs: string[] = [];
  afterAll(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));

  /** Synthesizes with the AWS Solutions pack; the validation failure message, or undefined when it passes. */
  function nag(build: (app: App) => void): string | undefined {
    const outdir = mkdtempSync(join(tmpdir(), 'botvault-member-nag-'));
    dirs.push(outdir);
    const app = new App({ outdir, context: cdkJsonContext() });
    build(app);
    Validations.of(app).addPlugins(new AwsSolutionsChecks(app));
    try {
      app.synth();
      return undefined;
    } catch (err) {
      return (err as Error).message;
    }
  }

  it('passes for the template', () => {
    expect(nag((app) => new BotVaultMemberAccountStack(app))).toBeUndefined();
  });

  it('passes for the construct in an account, with regions and both roles', () => {
    expect(
      nag((app) => {
        const stack = new Stack(app, 'Member', { env: { account: MEMBER, region: 'eu-west-1' } });
        new BotVaultMemberRoles(stack, 'Roles', { ...BASE, restorePrincipalArns: [OPERATOR], regions: ['eu-west-1', 'us-east-1'] });
      }),
    ).toBeUndefined();
  });

  it('still flags a wildcard nobody acknowledged (the acknowledgments are per resource)', () => {
    const message = nag((app) => {
      const stack = new BotVaultMemberAccountStack(app);
      stack.roles.backupRole.addToPolicy(
        new iam.PolicyStatement({
          actions: ['lex:DescribeBot'],
          resources: [stack.formatArn({ service: 'lex', region: '*', resource: 'bot', resourceName: 'X*' })],
        }),
      );
    });
    expect(message).toContain('AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:lex:*:<AWS::AccountId>:bot/X*]');
  });
});
