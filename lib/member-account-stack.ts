/**
 * The BotVaultMemberAccount stack: the member-account roles
 * (lib/constructs/member-account-role.ts) as one environment-agnostic
 * template, so the same file deploys to every member account, with a
 * StackSet or by hand (`npm run member-template` writes it). What differs
 * between accounts and installations comes in as parameters:
 *
 *  - TrustedRoleArns: the home account's function roles (the main stack's
 *    FunctionRoleArns output);
 *  - ExternalId: what the config's `accounts` entry names; shown, not
 *    hidden (NoEcho off), since an external ID is not a secret (IAM User
 *    Guide, "Access to AWS accounts owned by third parties");
 *  - RestorePrincipalArns: empty by default, and then no restore role
 *    (condition HasRestorePrincipals).
 *
 * IAM roles are global: deploy it once per account (one region), not once
 * per region.
 */
import { CfnCondition, CfnOutput, CfnParameter, type CfnResource, CliCredentialsStackSynthesizer, Fn, Stack, type StackProps } from 'aws-cdk-lib';
import type { Construct } from 'constructs';
import { BotVaultMemberRoles } from './constructs/member-account-role';

/** The stack (and template) name operators deploy. */
export const MEMBER_STACK_NAME = 'BotVaultMemberAccount';

/** The template's parameters and outputs, by their logical ids. */
const MEMBER_TEMPLATE = {
  trustedRoleArns: 'TrustedRoleArns',
  externalId: 'ExternalId',
  restorePrincipalArns: 'RestorePrincipalArns',
  hasRestorePrincipals: 'HasRestorePrincipals',
  backupRoleArn: 'BackupRoleArn',
  restoreRoleArn: 'RestoreRoleArn',
} as const;

// CloudFormation checks each value of a CommaDelimitedList against AllowedPattern (User Guide, "Parameters").
const ROLE_ARN_PATTERN = 'arn:aws[a-z-]*:iam::[0-9]{12}:role/[\\w+=,.@/-]{1,512}';
const PRINCIPAL_ARN_PATTERN = 'arn:aws[a-z-]*:iam::[0-9]{12}:(role|user)/[\\w+=,.@/-]{1,512}';

/** The member-account template: parameters, the roles, their ARNs as outputs. */
export class BotVaultMemberAccountStack extends Stack {
  /** The backup role and, when RestorePrincipalArns is not empty, the restore role. */
  public readonly roles: BotVaultMemberRoles;

  constructor(scope: Construct, id: string = MEMBER_STACK_NAME, props: Omit<StackProps, 'env'> = {}) {
    super(scope, id, {
      description:
        "BotVault member account: the roles BotVault's functions assume to back up this account's Lex V2 bots (and, opt-in, to restore them)",
      // No bootstrap stack in the member accounts: a template without assets needs none, and no BootstrapVersion parameter.
      synthesizer: new CliCredentialsStackSynthesizer(),
      // One template for every account: no CDK metadata resource with its region conditions.
      analyticsReporting: false,
      ...props,
    });

    const trusted = new CfnParameter(this, MEMBER_TEMPLATE.trustedRoleArns, {
      type: 'CommaDelimitedList',
      description: "The ARNs of BotVault's function roles in the home account, comma-separated (the BotVault stack's FunctionRoleArns output).",
      allowedPattern: ROLE_ARN_PATTERN,
      constraintDescription: 'each value must be an IAM role ARN such as arn:aws:iam::111122223333:role/BotVault-PlanRole1234',
    });
    const externalId = new CfnParameter(this, MEMBER_TEMPLATE.externalId, {
      type: 'String',
      description:
        "The external ID both roles require (sts:ExternalId); the BotVault config's accounts entry names the same one. Not a secret, so not hidden.",
      minLength: 2,
      maxLength: 1224,
      allowedPattern: '[\\w+=,.@:/-]*',
      constraintDescription: 'must be 2 to 1224 characters of letters, digits and +=,.@:/-_ (STS AssumeRole ExternalId)',
      noEcho: false,
    });
    const restorePrincipals = new CfnParameter(this, MEMBER_TEMPLATE.restorePrincipalArns, {
      type: 'CommaDelimitedList',
      description: 'The IAM roles or users that may restore into this account, comma-separated; empty (the default) creates no restore role.',
      default: '',
      allowedPattern: `(${PRINCIPAL_ARN_PATTERN})?`,
      constraintDescription: 'each value must be an IAM role or user ARN such as arn:aws:iam::111122223333:role/Operator',
    });
    const hasRestore = new CfnCondition(this, MEMBER_TEMPLATE.hasRestorePrincipals, {
      expression: Fn.conditionNot(Fn.conditionEquals(Fn.join('', restorePrincipals.valueAsList), '')),
    });
    this.templateOptions.metadata = {
      'AWS::CloudFormation::Interface': {
        ParameterGroups: [
          { Label: { default: 'Backup (required)' }, Parameters: [MEMBER_TEMPLATE.trustedRoleArns, MEMBER_TEMPLATE.externalId] },
          { Label: { default: 'Restore (optional)' }, Parameters: [MEMBER_TEMPLATE.restorePrincipalArns] },
        ],
      },
    };

    this.roles = new BotVaultMemberRoles(this, 'Roles', {
      trustedRoleArns: trusted.valueAsList,
      externalId: externalId.valueAsString,
      restorePrincipalArns: restorePrincipals.valueAsList,
    });
    const restoreRole = this.roles.restoreRole!;
    (restoreRole.node.defaultChild as CfnResource).cfnOptions.condition = hasRestore;

    new CfnOutput(this, MEMBER_TEMPLATE.backupRoleArn, {
      description: "The role to name in the BotVault config's accounts entry (roleArn) for this account",
      value: this.roles.backupRole.roleArn,
    });
    new CfnOutput(this, MEMBER_TEMPLATE.restoreRoleArn, {
      description: 'The role `botvault restore` assumes to restore into this account',
      value: restoreRole.roleArn,
      condition: hasRestore,
    });
  }
}
