/**
 * The OpenSearch Serverless vector collection and its three policies.
 *
 * The `vaultiq-vectors` index is not a CloudFormation resource here: the
 * store in `vaultiq-core` creates it on its first connection (processing or
 * API function, whichever runs first) with its own mapping and the
 * embedder's dimension, and checks that dimension on every later start.
 * That keeps one definition of the mapping (the Rust one), and it keeps the
 * data-access policy down to the function roles: an index created by
 * CloudFormation would need the deploying principal in that policy too.
 */
import { Stack } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as aoss from 'aws-cdk-lib/aws-opensearchserverless';
import { Construct } from 'constructs';

/** The index the functions read and write. */
export const VECTOR_INDEX = 'vaultiq-vectors';

/** What a function may do in the collection's data plane. */
export type DataAccess = 'read' | 'read-write';

/**
 * Index permissions per access level. Both create the index when it is
 * missing (the store's first connection); only the writer changes documents
 * or the mapping.
 */
const INDEX_PERMISSIONS: Record<DataAccess, string[]> = {
  read: ['aoss:CreateIndex', 'aoss:DescribeIndex', 'aoss:ReadDocument'],
  'read-write': [
    'aoss:CreateIndex',
    'aoss:DescribeIndex',
    'aoss:UpdateIndex',
    'aoss:ReadDocument',
    'aoss:WriteDocument',
  ],
};

/** Settings of the collection. */
export interface VectorCollectionProps {
  /** Collection name, also the prefix of its policy names. */
  readonly name: string;
  /** `ENABLED` (production) or `DISABLED` (half the minimum OCUs, no redundancy). */
  readonly standbyReplicas: 'ENABLED' | 'DISABLED';
}

/** The collection; call `grantDataAccess` once per function role, then `finish`. */
export class VectorCollection extends Construct {
  /** The collection. */
  public readonly collection: aoss.CfnCollection;
  /** The HTTPS endpoint the store connects to. */
  public readonly endpoint: string;
  private readonly name: string;
  private readonly grants: { role: iam.IRole; access: DataAccess }[] = [];
  private readonly readers: string[] = [];

  constructor(scope: Construct, id: string, props: VectorCollectionProps) {
    super(scope, id);
    this.name = props.name;
    const collectionResource = [`collection/${props.name}`];
    // Encryption at rest with an AWS owned key; a collection cannot be
    // created before a policy covering its name exists.
    const encryption = new aoss.CfnSecurityPolicy(this, 'EncryptionPolicy', {
      name: `${props.name}-enc`,
      type: 'encryption',
      description: 'VaultIQ vectors encrypted at rest',
      policy: JSON.stringify({
        Rules: [{ ResourceType: 'collection', Resource: collectionResource }],
        AWSOwnedKey: true,
      }),
    });
    // The functions run outside a VPC, so the endpoint is public; every
    // request still needs SigV4 from a principal the data-access policy
    // names. Dashboards are not opened.
    const network = new aoss.CfnSecurityPolicy(this, 'NetworkPolicy', {
      name: `${props.name}-net`,
      type: 'network',
      description: 'VaultIQ collection endpoint reachable by the functions (IAM-authenticated)',
      policy: JSON.stringify([
        {
          Rules: [{ ResourceType: 'collection', Resource: collectionResource }],
          AllowFromPublic: true,
        },
      ]),
    });
    this.collection = new aoss.CfnCollection(this, 'Collection', {
      name: props.name,
      type: 'VECTORSEARCH',
      description: 'VaultIQ chunk vectors and keyword index',
      standbyReplicas: props.standbyReplicas,
    });
    this.collection.node.addDependency(encryption, network);
    this.endpoint = this.collection.attrCollectionEndpoint;
  }

  /**
   * Lets `role` call the collection's API (IAM) and use the index
   * (data-access policy) at the given level.
   */
  public grantDataAccess(role: iam.IRole, access: DataAccess): void {
    role.addToPrincipalPolicy(
      new iam.PolicyStatement({
        sid: 'VectorCollectionApi',
        actions: ['aoss:APIAccessAll'],
        resources: [this.collection.attrArn],
      }),
    );
    this.grants.push({ role, access });
  }

  /**
   * Lets principals outside the stack (operators inspecting the index) read
   * it. They still need `aoss:APIAccessAll` from their own IAM policy.
   */
  public grantReaders(principalArns: string[]): void {
    this.readers.push(...principalArns);
  }

  /** Writes the data-access policy naming exactly the granted principals. */
  public finish(): aoss.CfnAccessPolicy {
    if (this.grants.length === 0) {
      throw new Error('the vector collection has no data-access grants');
    }
    const rule = (description: string, access: DataAccess, principals: string[]) => ({
      Description: description,
      Rules: [
        {
          ResourceType: 'index',
          Resource: [`index/${this.name}/${VECTOR_INDEX}`],
          Permission: INDEX_PERMISSIONS[access],
        },
        {
          ResourceType: 'collection',
          Resource: [`collection/${this.name}`],
          Permission: ['aoss:DescribeCollectionItems'],
        },
      ],
      Principal: principals,
    });
    const rules = this.grants.map(({ role, access }) =>
      rule(`${access} for ${role.node.path}`, access, [role.roleArn]),
    );
    if (this.readers.length > 0) {
      // Reading only: no index creation either, that is the functions' job.
      const readOnly = rule('read for operators', 'read', this.readers);
      readOnly.Rules[0].Permission = ['aoss:DescribeIndex', 'aoss:ReadDocument'];
      rules.push(readOnly);
    }
    const policy = new aoss.CfnAccessPolicy(this, 'DataAccessPolicy', {
      name: `${this.name}-access`,
      type: 'data',
      description: 'VaultIQ: processing writes, API (and any configured operators) read',
      policy: Stack.of(this).toJsonString(rules),
    });
    return policy;
  }
}
