/**
 * The roles of a member account (README "Many accounts and regions"): what
 * BotVault's functions, in the home account, assume to back up that
 * account's Lex V2 bots, and, separately and only when asked for, what an
 * operator assumes to restore into it. Deployed in each member account as
 * the BotVaultMemberAccount template (lib/member-account-stack.ts), or as
 * this construct in a stack of one's own.
 *
 *  - trust: exactly the principal ARNs given, and only with the external ID
 *    (condition sts:ExternalId); an external ID is not a secret (IAM User
 *    Guide, "Access to AWS accounts owned by third parties"), it keeps a
 *    role ARN alone from being enough;
 *  - the backup role may do what the home account's functions do there
 *    (lib/providers/lex/grants.ts for a discovery target): list and read
 *    bots, export bots and test sets, read what the restore sidecar records.
 *    It can change no bot;
 *  - the restore role may do what `botvault restore` of a Lex archive calls
 *    (lib/providers/lex/restore.ts) and what Lex's import requires, and pass
 *    a bot's role to Lex alone. It exists only when restore principals are
 *    given.
 *
 * Actions and resource types from the Service Authorization Reference,
 * "Actions, resources, and condition keys for Amazon Lex V2"
 * (https://docs.aws.amazon.com/service-authorization/latest/reference/list_amazonlexv2.html)
 * and the Amazon Lex V2 Developer Guide, "Importing bots in Lex V2"
 * (https://docs.aws.amazon.com/lexv2/latest/dg/import.html, "IAM permissions
 * required to import").
 */
import { ArnFormat, Stack, Token, Validations } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import { Construct } from 'constructs';
import { LEX_DESCRIBE_EXPORT_BOT_ACTIONS } from '../providers/lex/grants';

// The same checks as the config's for an `accounts` entry (lib/core/accounts.ts).
/** An AWS region name: `us-east-1`, `us-gov-west-1`, `cn-north-1`. */
const REGION = /^[a-z]{2}(-gov|-iso[a-z]?)?-[a-z]+-\d{1,2}$/;
/** An IAM role ARN in any partition, paths allowed. */
const ROLE_ARN = /^arn:aws[a-z-]*:iam::\d{12}:role\/(?:[\w+=,.@-]+\/)*[\w+=,.@-]{1,64}$/;
/** An IAM role or user ARN: who may assume the restore role. */
const PRINCIPAL_ARN = /^arn:aws[a-z-]*:iam::\d{12}:(?:role|user)\/(?:[\w+=,.@-]+\/)*[\w+=,.@-]{1,64}$/;
/** A role ARN or an ARN pattern of roles (`*`, `?` in the path and name) in one account. */
const ROLE_ARN_PATTERN = /^arn:aws[a-z-]*:iam::\d{12}:role\/[\w+=,.@/*?-]+$/;
/** STS AssumeRole ExternalId: 2 to 1224 characters of `[\w+=,.@:/-]` (STS API Reference, AssumeRole). */
const EXTERNAL_ID = /^[\w+=,.@:/-]{2,1224}$/;
/** IAM CreateRole RoleName: 1 to 64 characters of `[\w+=,.@-]`. */
const ROLE_NAME = /^[\w+=,.@-]{1,64}$/;

/**
 * What the backup role may do, by resource: the Lex calls of Plan, StartExport, CheckExport,
 * StoreArchive and Cleanup for a discovery target (lib/providers/lex/grants.ts, which cites the
 * Service Authorization Reference for each).
 */
export const MEMBER_BACKUP_ACTIONS = {
  /** ListBots has no resource type: `*`. */
  unscoped: ['lex:ListBots'],
  /** Discovery (ListBotVersions, ListBotLocales), what DescribeExport is authorized against, the restore sidecar's bot reads. */
  bot: [
    ...new Set(['lex:ListBotVersions', 'lex:ListBotLocales', ...LEX_DESCRIBE_EXPORT_BOT_ACTIONS, 'lex:ListBotAliases', 'lex:ListTagsForResource']),
  ].sort(),
  /** The export itself: `bot` or `test set`. */
  exports: ['lex:CreateExport', 'lex:DeleteExport', 'lex:DescribeExport'],
  /** What DescribeExport of a test set export is authorized against. */
  testSet: ['lex:DescribeTestSet'],
  /** The restore sidecar records every alias of a bot (DescribeBotAlias takes `bot alias`). */
  botAlias: ['lex:DescribeBotAlias'],
} as const;

/**
 * What the restore role may do, by resource: every call `botvault restore` makes for a Lex
 * archive (lib/providers/lex/restore.ts) and what those calls are authorized against.
 */
export const MEMBER_RESTORE_ACTIONS = {
  /**
   * ListBots (finding a bot by name) and CreateUploadUrl have no resource type: `*` (Service
   * Authorization Reference; "Importing bots in Lex V2": CreateUploadUrl, resource `*`).
   */
  unscoped: ['lex:CreateUploadUrl', 'lex:ListBots'],
  /**
   * The restore's reads: DescribeBot (the target bot), ListBotLocales (a locale's FailOnConflict
   * check), DescribeImport (polling; resource `bot` per "Importing bots in Lex V2");
   * DescribeBotVersion, which the Service Authorization Reference's operation table lists for the
   * CreateBot operation an import of a new bot performs.
   */
  bot: ['lex:DescribeBot', 'lex:DescribeBotVersion', 'lex:DescribeImport', 'lex:ListBotLocales'],
  /**
   * StartImport of a new bot is authorized against the bot and its (test) bot alias ("Importing
   * bots in Lex V2": "To import a new bot: bot, bot alias"), as is CreateBot (resource types
   * `bot` and `bot alias`, both required).
   */
  botAndAlias: ['lex:CreateBot', 'lex:StartImport'],
  /**
   * What StartImport of a bot, a locale or a custom vocabulary requires beside itself ("Importing
   * bots in Lex V2", "Required IAM actions"): creating, updating and deleting the definitions it
   * imports (Overwrite replaces them; DeleteBot is in that list too), and TagResource for a new
   * bot's tags (the operation table maps CreateBot with tags to lex:TagResource). All on `bot`.
   */
  import: [
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
  ],
  /** The operation table lists DescribeBotAlias for CreateBot: the test alias Lex creates with every bot. */
  botAlias: ['lex:DescribeBotAlias'],
} as const;

/** The one service a restore may pass a bot's role to (the operation table: CreateBot, iam:PassedToService). */
const LEX_SERVICE_PRINCIPAL = 'lexv2.amazonaws.com';

export interface BotVaultMemberRolesProps {
  /**
   * The roles of BotVault's functions in the home account that may assume the backup role
   * (the main stack's `FunctionRoleArns` output). IAM role ARNs, or a token (a CloudFormation
   * list parameter).
   */
  readonly trustedRoleArns: string[];
  /**
   * The external ID both roles require (sts:ExternalId); the config's `accounts` entry names
   * the same one. 2 to 1224 characters of letters, digits and `+=,.@:/-_`. Not a secret.
   */
  readonly externalId: string;
  /**
   * The IAM roles or users (operators, a restore pipeline) that may assume the restore role.
   * IAM role or user ARNs, or a token.
   * @default - no restore role: restore is separate and opt-in
   */
  readonly restorePrincipalArns?: string[];
  /**
   * The roles a restore may give a new bot (iam:PassRole, only to Lex V2): the bot's role from
   * the restore sidecar, or `--role-arn`. Role ARNs or patterns (`role/lex/*`); a pattern is a
   * wildcard cdk-nag reports (AwsSolutions-IAM5), for the stack that gives it to acknowledge.
   * @default - any role of this account (`arn:<partition>:iam::<account>:role/*`)
   */
  readonly botRoleArns?: string[];
  /**
   * The regions whose bots the roles reach.
   * @default - every region (`*` in the Lex resource ARNs)
   */
  readonly regions?: string[];
  /**
   * The backup role's name: the config's `accounts` entry names its ARN.
   * @default 'BotVaultBackup'
   */
  readonly backupRoleName?: string;
  /**
   * The restore role's name.
   * @default 'BotVaultRestore'
   */
  readonly restoreRoleName?: string;
}

/** The backup role of a member account and, when restore principals are given, its restore role. */
export class BotVaultMemberRoles extends Construct {
  /** The role BotVault's functions assume to back up this account's bots. */
  public readonly backupRole: iam.Role;
  /** The role operators assume to restore into this account; undefined without restore principals. */
  public readonly restoreRole?: iam.Role;

  constructor(scope: Construct, id: string, props: BotVaultMemberRolesProps) {
    super(scope, id);
    validate(props);
    const stack = Stack.of(this);
    const regions = props.regions ? [...new Set(props.regions)].sort() : ['*'];
    const lexArns = (resource: string, name: string) =>
      regions.map((region) => stack.formatArn({ service: 'lex', region, resource, resourceName: name, arnFormat: ArnFormat.SLASH_RESOURCE_NAME }));
    const bots = lexArns('bot', '*');
    const aliases = lexArns('bot-alias', '*/*');
    const testSets = lexArns('test-set', '*');
    // ListBots and CreateUploadUrl take no resource; with regions given, aws:RequestedRegion keeps them to those.
    const unscopedConditions = props.regions ? { StringEquals: { 'aws:RequestedRegion': regions } } : undefined;
    const statement = (sid: string, actions: readonly string[], resources: string[], conditions?: Record<string, unknown>) =>
      new iam.PolicyStatement({ sid, actions: [...actions], resources, ...(conditions ? { conditions } : {}) });

    const backup = MEMBER_BACKUP_ACTIONS;
    this.backupRole = new iam.Role(this, 'BackupRole', {
      roleName: props.backupRoleName ?? 'BotVaultBackup',
      description: "BotVault backup: read and export this account's Lex V2 bots and test sets; assumed by BotVault's functions",
      assumedBy: new AwsPrincipals(props.trustedRoleArns),
      externalIds: [props.externalId],
      inlinePolicies: {
        LexBackup: new iam.PolicyDocument({
          statements: [
            statement('ListBots', backup.unscoped, ['*'], unscopedConditions),
            statement('ReadBots', backup.bot, bots),
            statement('Exports', backup.exports, [...bots, ...testSets]),
            statement('ReadTestSets', backup.testSet, testSets),
            statement('ReadBotAliases', backup.botAlias, aliases),
          ],
        }),
      },
    });
    acknowledge(this.backupRole, stack, regions, {
      '*': 'lex:ListBots supports no resource-level permissions (Service Authorization Reference).',
      bot: 'The bots to back up are discovered at run time: any bot of this account (in these regions).',
      'test-set': 'Any test set a target names in this account (in these regions): the config changes without a redeploy here.',
      'bot-alias': 'The restore sidecar records every alias of every bot backed up (DescribeBotAlias).',
    });

    if (props.restorePrincipalArns === undefined) return;
    const restore = MEMBER_RESTORE_ACTIONS;
    const botRoles = props.botRoleArns ?? [stack.formatArn({ service: 'iam', region: '', resource: 'role', resourceName: '*' })];
    this.restoreRole = new iam.Role(this, 'RestoreRole', {
      roleName: props.restoreRoleName ?? 'BotVaultRestore',
      description: "BotVault restore: import archived Lex V2 bots, locales and custom vocabularies into this account's bots",
      assumedBy: new AwsPrincipals(props.restorePrincipalArns),
      externalIds: [props.externalId],
      inlinePolicies: {
        LexRestore: new iam.PolicyDocument({
          statements: [
            statement('UploadAndFind', restore.unscoped, ['*'], unscopedConditions),
            statement('ReadBots', restore.bot, bots),
            statement('StartImport', restore.botAndAlias, [...bots, ...aliases]),
            statement('ImportDefinitions', restore.import, bots),
            statement('ReadTestBotAlias', restore.botAlias, aliases),
            statement('PassBotRoleToLex', ['iam:PassRole'], botRoles, { StringEquals: { 'iam:PassedToService': LEX_SERVICE_PRINCIPAL } }),
          ],
        }),
      },
    });
    acknowledge(this.restoreRole, stack, regions, {
      '*': 'lex:CreateUploadUrl and lex:ListBots support no resource-level permissions (Service Authorization Reference).',
      bot: 'A restore creates a new bot or imports into any existing one: its id is not known in advance.',
      'bot-alias': 'A new bot comes with a test alias (TSTALIASID) that CreateBot is authorized against: any bot, so any alias.',
    });
    if (!props.botRoleArns) {
      Validations.of(this.restoreRole).acknowledge({
        id: `AwsSolutions::AwsSolutions-IAM5[Resource::arn:${flat(stack.partition, 'AWS::Partition')}:iam::${flat(stack.account, 'AWS::AccountId')}:role/*]`,
        reason:
          "iam:PassRole of a bot's role, only to lexv2.amazonaws.com (iam:PassedToService): the bot's role is the restore sidecar's or --role-arn.",
      });
    }
  }
}

/** Several AWS principals in one trust statement; a CloudFormation list (one token) stays one list. */
class AwsPrincipals extends iam.PrincipalBase {
  private readonly arns: string[];

  constructor(arns: string[]) {
    super();
    this.arns = Token.isUnresolved(arns) ? arns : [...new Set(arns)].sort();
  }

  public get policyFragment(): iam.PrincipalPolicyFragment {
    return new iam.PrincipalPolicyFragment({ AWS: this.arns });
  }

  public dedupeString(): string | undefined {
    return `AwsPrincipals:${this.arns.join(',')}`;
  }

  public override toString(): string {
    return `AwsPrincipals(${this.arns.join(', ')})`;
  }
}

/** cdk-nag names a resource with its tokens flattened, as the stack's grant context does (lib/botvault-stack.ts). */
const flat = (v: string, pseudo: string) => (Token.isUnresolved(v) ? `<${pseudo}>` : v);

/** Records why each Lex wildcard of `role` is the narrowest IAM allows (cdk-nag AwsSolutions-IAM5, per resource). */
function acknowledge(role: iam.Role, stack: Stack, regions: readonly string[], reasons: Record<string, string>): void {
  const v = Validations.of(role);
  for (const [resource, reason] of Object.entries(reasons)) {
    if (resource === '*') {
      v.acknowledge({ id: 'AwsSolutions::AwsSolutions-IAM5[Resource::*]', reason });
      continue;
    }
    const name = resource === 'bot-alias' ? '*/*' : '*';
    for (const region of regions) {
      const arn = `arn:${flat(stack.partition, 'AWS::Partition')}:lex:${region}:${flat(stack.account, 'AWS::AccountId')}:${resource}/${name}`;
      v.acknowledge({ id: `AwsSolutions::AwsSolutions-IAM5[Resource::${arn}]`, reason });
    }
  }
}

/** Throws an actionable message for the first prop that is wrong. Tokens (CloudFormation parameters) are checked by CloudFormation. */
function validate(props: BotVaultMemberRolesProps): void {
  const fail = (message: string): never => {
    throw new Error(`BotVaultMemberRoles: ${message}`);
  };
  const checkList = (name: string, values: string[] | undefined, pattern: RegExp, example: string) => {
    if (values === undefined || Token.isUnresolved(values)) return;
    if (values.length === 0)
      fail(
        `${name} is empty: name at least one ARN such as "${example}"${name === 'restorePrincipalArns' ? ', or leave it out for no restore role' : ''}.`,
      );
    for (const v of values) {
      if (!Token.isUnresolved(v) && !pattern.test(v)) fail(`${name} has "${v}", which is not ${describe(pattern)} such as "${example}".`);
    }
  };
  checkList('trustedRoleArns', props.trustedRoleArns, ROLE_ARN, 'arn:aws:iam::111122223333:role/BotVault-PlanRole1234');
  checkList('restorePrincipalArns', props.restorePrincipalArns, PRINCIPAL_ARN, 'arn:aws:iam::111122223333:role/Operator');
  checkList('botRoleArns', props.botRoleArns, ROLE_ARN_PATTERN, 'arn:aws:iam::444455556666:role/LexBotRole');
  if (!Token.isUnresolved(props.externalId) && !EXTERNAL_ID.test(props.externalId)) {
    fail(
      `externalId must be 2 to 1224 characters of letters, digits and +=,.@:/-_ (STS AssumeRole ExternalId); got ${props.externalId.length} character(s)${props.externalId.length >= 2 && props.externalId.length <= 1224 ? ' with one outside that set' : ''}.`,
    );
  }
  if (props.regions !== undefined) {
    if (props.regions.length === 0) fail('regions is empty: name at least one region such as "eu-west-1", or leave it out for every region.');
    for (const r of props.regions) if (!REGION.test(r)) fail(`regions has "${r}", which is not an AWS region such as "eu-west-1".`);
  }
  for (const [name, value] of [
    ['backupRoleName', props.backupRoleName],
    ['restoreRoleName', props.restoreRoleName],
  ] as const) {
    if (value !== undefined && !Token.isUnresolved(value) && !ROLE_NAME.test(value)) {
      fail(`${name} "${value}" must be 1 to 64 characters of letters, digits and +=,.@-_ (IAM role name).`);
    }
  }
  const backupName = props.backupRoleName ?? 'BotVaultBackup';
  if (props.restorePrincipalArns !== undefined && backupName === (props.restoreRoleName ?? 'BotVaultRestore')) {
    fail(`backupRoleName and restoreRoleName are both "${backupName}": the two roles need two names.`);
  }
}

function describe(pattern: RegExp): string {
  if (pattern === ROLE_ARN) return 'an IAM role ARN';
  if (pattern === PRINCIPAL_ARN) return 'an IAM role or user ARN';
  return 'an IAM role ARN (or pattern)';
}
