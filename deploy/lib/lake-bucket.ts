/**
 * The raw data lake: one JSON object per document under `raw/{source}/`
 * (the layout of `vaultiq-core`'s S3 lake). Versioned so an overwritten or
 * deleted record can be recovered; old versions expire so the lake does not
 * grow without bound.
 */
import { Duration, RemovalPolicy } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as s3 from 'aws-cdk-lib/aws-s3';
import { Construct } from 'constructs';

/** Key prefix of every lake record. */
export const RAW_PREFIX = 'raw/';

/** Days a replaced or deleted record version is kept. */
const NONCURRENT_VERSION_DAYS = 30;

/** The lake bucket and the grants the functions need on it. */
export class LakeBucket extends Construct {
  /** The bucket. */
  public readonly bucket: s3.Bucket;

  constructor(scope: Construct, id: string) {
    super(scope, id);
    this.bucket = new s3.Bucket(this, 'Bucket', {
      encryption: s3.BucketEncryption.S3_MANAGED,
      versioned: true,
      blockPublicAccess: s3.BlockPublicAccess.BLOCK_ALL,
      objectOwnership: s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
      enforceSSL: true,
      // The lake is the only copy of what was fetched: keep it when the
      // stack goes away.
      removalPolicy: RemovalPolicy.RETAIN,
      lifecycleRules: [
        {
          id: 'expire-old-record-versions',
          noncurrentVersionExpiration: Duration.days(NONCURRENT_VERSION_DAYS),
          expiredObjectDeleteMarker: true,
          abortIncompleteMultipartUploadAfter: Duration.days(7),
        },
      ],
    });
  }

  /**
   * Read, write and delete records under `raw/{source}/` (a connector), or
   * read everything under `raw/` (`source` undefined: the processing
   * function). Listing is limited to the same prefix.
   */
  public grantRecords(role: iam.IRole, access: { source?: string; write: boolean }): void {
    const prefix = access.source === undefined ? RAW_PREFIX : `${RAW_PREFIX}${access.source}/`;
    const actions = access.write ? ['s3:GetObject', 's3:PutObject', 's3:DeleteObject'] : ['s3:GetObject'];
    role.addToPrincipalPolicy(
      new iam.PolicyStatement({
        sid: access.write ? 'LakeRecordsReadWrite' : 'LakeRecordsRead',
        actions,
        resources: [this.bucket.arnForObjects(`${prefix}*`)],
      }),
    );
    role.addToPrincipalPolicy(
      new iam.PolicyStatement({
        sid: 'LakeList',
        actions: ['s3:ListBucket'],
        resources: [this.bucket.bucketArn],
        conditions: { StringLike: { 's3:prefix': [`${prefix}*`] } },
      }),
    );
  }
}
