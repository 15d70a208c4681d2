/**
 * IAM resources of the two Bedrock models. An on-demand model is one
 * foundation-model ARN in the stack's region; a cross-region inference
 * profile id (`us.`, `eu.`, `apac.`, `global.` prefix) is the profile in
 * this account plus the foundation model in whichever region the profile
 * routes to.
 */
import { Aws } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';

const PROFILE_PREFIXES = ['us.', 'eu.', 'apac.', 'us-gov.', 'global.'];

/** The ARNs `bedrock:InvokeModel*` must name for `modelId`. */
export function modelArns(modelId: string): string[] {
  const profile = PROFILE_PREFIXES.find((prefix) => modelId.startsWith(prefix));
  if (profile === undefined) {
    return [`arn:${Aws.PARTITION}:bedrock:${Aws.REGION}::foundation-model/${modelId}`];
  }
  const model = modelId.slice(profile.length);
  return [
    `arn:${Aws.PARTITION}:bedrock:${Aws.REGION}:${Aws.ACCOUNT_ID}:inference-profile/${modelId}`,
    // The profile picks the region per request; the model id stays fixed.
    `arn:${Aws.PARTITION}:bedrock:*::foundation-model/${model}`,
  ];
}

/**
 * Invoke exactly these models; `stream` adds the streaming call (the
 * answerer's ConverseStream needs it, the embedder does not).
 */
export function grantInvokeModels(role: iam.IRole, modelIds: string[], stream: boolean): void {
  role.addToPrincipalPolicy(
    new iam.PolicyStatement({
      sid: 'BedrockInvoke',
      actions: stream ? ['bedrock:InvokeModel', 'bedrock:InvokeModelWithResponseStream'] : ['bedrock:InvokeModel'],
      resources: [...new Set(modelIds.flatMap(modelArns))],
    }),
  );
}
