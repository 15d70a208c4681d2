/**
 * The sync state table of `vaultiq-core`'s DynamoDB state store: one table,
 * partition key `pk` and sort key `sk` (both strings), holding checkpoints,
 * per-document content hashes and run history.
 */
import { RemovalPolicy } from 'aws-cdk-lib';
import * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as iam from 'aws-cdk-lib/aws-iam';
import { Construct } from 'constructs';

/** The item actions the state store issues, and nothing on the table itself. */
const STATE_ACTIONS = [
  'dynamodb:GetItem',
  'dynamodb:PutItem',
  'dynamodb:UpdateItem',
  'dynamodb:DeleteItem',
  'dynamodb:Query',
  'dynamodb:BatchGetItem',
  'dynamodb:BatchWriteItem',
  'dynamodb:ConditionCheckItem',
];

/** The state table and its grant. */
export class StateTable extends Construct {
  /** The table. */
  public readonly table: dynamodb.Table;

  constructor(scope: Construct, id: string) {
    super(scope, id);
    this.table = new dynamodb.Table(this, 'Table', {
      partitionKey: { name: 'pk', type: dynamodb.AttributeType.STRING },
      sortKey: { name: 'sk', type: dynamodb.AttributeType.STRING },
      billingMode: dynamodb.BillingMode.PAY_PER_REQUEST,
      // A KMS key (AWS managed) rather than the default owned key, so the
      // encryption is visible and auditable in the account.
      encryption: dynamodb.TableEncryption.AWS_MANAGED,
      pointInTimeRecoverySpecification: { pointInTimeRecoveryEnabled: true },
      // Checkpoints are cheap to lose (a full resync) but the run history
      // is not: keep the table when the stack goes away.
      removalPolicy: RemovalPolicy.RETAIN,
    });
  }

  /** The state store's item reads and writes. */
  public grantState(role: iam.IRole): void {
    role.addToPrincipalPolicy(
      new iam.PolicyStatement({
        sid: 'SyncState',
        actions: STATE_ACTIONS,
        resources: [this.table.tableArn],
      }),
    );
  }
}
