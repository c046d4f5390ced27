/**
 * Extracts the state machine definition from a synthesized template, so local
 * runs execute exactly what `cdk synth` emits.
 *
 * The definition is a `Fn::Join` over literal strings and references to the
 * Lambdas; the references become placeholder ARNs, because the local runner
 * binds every Task to its handler by state name, not by ARN.
 */
export type CfnTemplate = { Resources?: Record<string, { Type: string; Properties?: Record<string, unknown> }> };

const FAKE_ACCOUNT = '000000000000';

function resolveIntrinsic(value: unknown, region: string): string {
  if (typeof value === 'string') return value;
  if (value && typeof value === 'object') {
    const obj = value as Record<string, unknown>;
    if ('Fn::GetAtt' in obj) {
      const [logicalId] = obj['Fn::GetAtt'] as [string, string];
      return `arn:aws:lambda:${region}:${FAKE_ACCOUNT}:function:${logicalId}`;
    }
    if ('Ref' in obj) {
      const ref = obj.Ref as string;
      if (ref === 'AWS::Region') return region;
      if (ref === 'AWS::AccountId') return FAKE_ACCOUNT;
      if (ref === 'AWS::Partition') return 'aws';
      if (ref === 'AWS::URLSuffix') return 'amazonaws.com';
      return ref;
    }
    if ('Fn::Join' in obj) {
      const [sep, parts] = obj['Fn::Join'] as [string, unknown[]];
      return parts.map((p) => resolveIntrinsic(p, region)).join(sep);
    }
  }
  throw new Error(`Cannot resolve ${JSON.stringify(value).slice(0, 200)} in the state machine definition`);
}

/** The one AWS::StepFunctions::StateMachine's definition, tokens resolved, parsed. */
export function definitionFromTemplate(template: CfnTemplate, region = 'us-east-1'): Record<string, unknown> {
  const machines = Object.entries(template.Resources ?? {}).filter(([, r]) => r.Type === 'AWS::StepFunctions::StateMachine');
  if (machines.length !== 1) throw new Error(`Expected exactly one state machine in the template, found ${machines.length}`);
  const props = machines[0]![1].Properties ?? {};
  let text = resolveIntrinsic(props.DefinitionString, region);
  const substitutions = (props.DefinitionSubstitutions ?? {}) as Record<string, unknown>;
  for (const [name, value] of Object.entries(substitutions)) {
    text = text.split(`\${${name}}`).join(resolveIntrinsic(value, region));
  }
  return JSON.parse(text) as Record<string, unknown>;
}
