/**
 * The four connector secrets, named and shaped as in the seed. They are
 * created holding the shape with empty values; the real values are put by
 * hand (`aws secretsmanager put-secret-value`, see the README). A later
 * deploy leaves those values alone: CloudFormation only writes the secret
 * string when the template's placeholder changes.
 */
import { SecretValue } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import { Construct } from 'constructs';

import { SOURCE_TYPES, SourceType, secretName } from './source-settings';

/** The fields of each secret (Cloud variants; Data Center may use `token`). */
export const SECRET_FIELDS: Record<SourceType, string[]> = {
  confluence: ['url', 'username', 'api_key'],
  slack: ['bot_token'],
  jira: ['server', 'username', 'api_token'],
  github: ['token'],
};

/** One secret per source. */
export class SourceSecrets extends Construct {
  /** The secret of each source. */
  public readonly secrets: Record<SourceType, secretsmanager.Secret>;

  constructor(scope: Construct, id: string) {
    super(scope, id);
    const secrets: Partial<Record<SourceType, secretsmanager.Secret>> = {};
    for (const source of SOURCE_TYPES) {
      const placeholder = Object.fromEntries(SECRET_FIELDS[source].map((field) => [field, '']));
      secrets[source] = new secretsmanager.Secret(this, source, {
        secretName: secretName(source),
        description: `VaultIQ ${source} connector credentials: ${SECRET_FIELDS[source].join(', ')}`,
        // Not a secret: the empty shape, so the owner sees which fields to fill.
        secretStringValue: SecretValue.unsafePlainText(JSON.stringify(placeholder)),
      });
    }
    this.secrets = secrets as Record<SourceType, secretsmanager.Secret>;
  }

  /** Lets `role` read the one secret of `source`. */
  public grantRead(role: iam.IRole, source: SourceType): void {
    role.addToPrincipalPolicy(
      new iam.PolicyStatement({
        sid: 'SourceCredentials',
        actions: ['secretsmanager:GetSecretValue'],
        resources: [this.secrets[source].secretArn],
      }),
    );
  }
}
