/**
 * The processing function: every record written to or removed from the
 * lake's `raw/` prefix is chunked, embedded (Bedrock) and indexed, or
 * removed from the index.
 *
 * Two ways to deliver the S3 events, chosen by `vaultiq:processingTrigger`:
 * - `s3` (default): S3 invokes the function directly (asynchronously, one
 *   event per object). A failing event is retried twice by Lambda, then
 *   kept in a dead-letter queue.
 * - `sqs`: S3 sends the events to a queue the function reads in batches,
 *   reporting partial batch failures; a message that fails five times
 *   moves to the dead-letter queue. Smoother under a large first sync.
 * Either way the handler is idempotent: unchanged content is skipped by its
 * hash, so redelivery creates no duplicates.
 */
import * as path from 'node:path';

import { Duration } from 'aws-cdk-lib';
import * as lambdaEvents from 'aws-cdk-lib/aws-lambda-event-sources';
import * as s3 from 'aws-cdk-lib/aws-s3';
import * as s3n from 'aws-cdk-lib/aws-s3-notifications';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';

import { grantInvokeModels } from './bedrock-models';
import { FunctionConfigLayer } from './function-config';
import { LakeBucket, RAW_PREFIX } from './lake-bucket';
import { RustFunction } from './rust-function';
import { ProcessingTrigger } from './settings';
import { StateTable } from './state-table';
import { VectorCollection } from './vector-collection';

/** The config file of the processing function in the config layer. */
export const PROCESSING_CONFIG_FILE = 'processing.toml';

/** Time budget of one invocation (one object, or one SQS batch). */
const TIMEOUT = Duration.minutes(5);

/** What the processing function needs. */
export interface ProcessingProps {
  readonly namePrefix: string;
  readonly trigger: ProcessingTrigger;
  readonly lambdaAssetDir: string;
  readonly logRetentionDays: number;
  readonly config: FunctionConfigLayer;
  readonly lake: LakeBucket;
  readonly state: StateTable;
  readonly collection: VectorCollection;
  /** The Bedrock model that embeds the chunks. */
  readonly embeddingModelId: string;
  /** Every `VAULTIQ_*` variable (lake, state, embedder, store). */
  readonly environment: Record<string, string>;
}

/** The function, its event delivery and its dead-letter queue. */
export class Processing extends Construct {
  /** The function. */
  public readonly fn: RustFunction;
  /** Where events end up that failed every attempt. */
  public readonly deadLetterQueue: sqs.Queue;
  /** The event queue (`sqs` trigger only). */
  public readonly queue?: sqs.Queue;

  constructor(scope: Construct, id: string, props: ProcessingProps) {
    super(scope, id);
    this.deadLetterQueue = new sqs.Queue(this, 'DeadLetterQueue', {
      encryption: sqs.QueueEncryption.SQS_MANAGED,
      enforceSSL: true,
      retentionPeriod: Duration.days(14),
    });
    const direct = props.trigger === 's3';
    this.fn = new RustFunction(this, 'Processing', {
      functionName: `${props.namePrefix}-processing`,
      description: 'VaultIQ processing: indexes lake records on S3 events',
      codeDir: path.join(props.lambdaAssetDir, 'processing'),
      memorySize: 1024,
      timeout: TIMEOUT,
      environment: { ...props.environment, VAULTIQ_CONFIG: props.config.pathOf(PROCESSING_CONFIG_FILE) },
      logRetentionDays: props.logRetentionDays,
      layers: [props.config.layer],
      retryAttempts: direct ? 2 : undefined,
      deadLetterQueue: direct ? this.deadLetterQueue : undefined,
    });
    props.lake.grantRecords(this.fn.role, { write: false });
    props.state.grantState(this.fn.role);
    props.collection.grantDataAccess(this.fn.role, 'read-write');
    grantInvokeModels(this.fn.role, [props.embeddingModelId], false);

    const filter: s3.NotificationKeyFilter = { prefix: RAW_PREFIX, suffix: '.json' };
    let destination: s3.IBucketNotificationDestination;
    if (direct) {
      destination = new s3n.LambdaDestination(this.fn.function);
    } else {
      this.queue = new sqs.Queue(this, 'Events', {
        encryption: sqs.QueueEncryption.SQS_MANAGED,
        enforceSSL: true,
        // Lambda's guidance: six times the function timeout, so a message
        // is not redelivered while a slow batch still works on it.
        visibilityTimeout: Duration.seconds(TIMEOUT.toSeconds() * 6),
        deadLetterQueue: { queue: this.deadLetterQueue, maxReceiveCount: 5 },
      });
      destination = new s3n.SqsDestination(this.queue);
      this.fn.function.addEventSource(
        new lambdaEvents.SqsEventSource(this.queue, {
          batchSize: 10,
          maxBatchingWindow: Duration.seconds(5),
          reportBatchItemFailures: true,
          // Bounds the load on Bedrock and the collection during a first sync.
          maxConcurrency: 5,
        }),
      );
    }
    props.lake.bucket.addEventNotification(s3.EventType.OBJECT_CREATED, destination, filter);
    props.lake.bucket.addEventNotification(s3.EventType.OBJECT_REMOVED, destination, filter);
  }
}
