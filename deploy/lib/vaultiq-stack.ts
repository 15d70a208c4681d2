/**
 * VaultIQ on AWS, as the seed runs it: EventBridge starts one connector per
 * source every N minutes; connectors write raw JSON to the S3 lake and keep
 * checkpoints in DynamoDB; the lake's S3 events drive the processing
 * function (chunk, embed with Bedrock Titan, index in OpenSearch
 * Serverless); API Gateway fronts the query function (Bedrock Claude
 * answers). Credentials live in Secrets Manager.
 *
 * The functions are configured the way `vaultiq-core` reads its settings:
 * `VAULTIQ_<SECTION>_<KEY>` variables, plus a `vaultiq.toml` per function
 * (`VAULTIQ_CONFIG`, from a layer) for what variables cannot say.
 */
import * as path from 'node:path';

import { CfnOutput, Stack, StackProps, Stage } from 'aws-cdk-lib';
import { Construct } from 'constructs';

import { Connectors, connectorConfigFile } from './connectors';
import {
  ConfigFiles,
  FunctionConfigLayer,
  connectorConfig,
  storeConfig,
  unconfiguredConnectorConfig,
} from './function-config';
import { LakeBucket } from './lake-bucket';
import { PROCESSING_CONFIG_FILE, Processing } from './processing';
import { API_CONFIG_FILE, QueryApi } from './query-api';
import { VaultIqSettings } from './settings';
import { SOURCE_TYPES, SourceType } from './source-settings';
import { SourceSecrets } from './source-secrets';
import { StateTable } from './state-table';
import { VECTOR_INDEX, VectorCollection } from './vector-collection';

/** Properties of the stack. */
export interface VaultIqStackProps extends StackProps {
  /** The deployment's settings (see `settingsFromContext`). */
  readonly settings: VaultIqSettings;
}

/** The whole deployment in one stack. */
export class VaultIqStack extends Stack {
  /** The lake. */
  public readonly lake: LakeBucket;
  /** The sync state. */
  public readonly state: StateTable;
  /** The vector collection. */
  public readonly collection: VectorCollection;
  /** The connector functions. */
  public readonly connectors: Connectors;
  /** The processing function. */
  public readonly processing: Processing;
  /** The query API. */
  public readonly api: QueryApi;

  constructor(scope: Construct, id: string, props: VaultIqStackProps) {
    super(scope, id, props);
    const settings = props.settings;
    const prefix = settings.namePrefix;

    this.lake = new LakeBucket(this, 'Lake');
    this.state = new StateTable(this, 'State');
    const secrets = new SourceSecrets(this, 'Secrets');
    this.collection = new VectorCollection(this, 'Vectors', {
      name: prefix,
      standbyReplicas: settings.collectionStandbyReplicas,
    });

    const configured = new Set(Object.keys(settings.sources) as SourceType[]);
    const files: ConfigFiles = { [PROCESSING_CONFIG_FILE]: storeConfig(), [API_CONFIG_FILE]: storeConfig() };
    for (const source of SOURCE_TYPES) {
      const sourceSettings = settings.sources[source];
      files[connectorConfigFile(source)] =
        sourceSettings === undefined ? unconfiguredConnectorConfig(source) : connectorConfig(source, sourceSettings);
    }
    const config = new FunctionConfigLayer(
      this,
      'FunctionConfig',
      files,
      path.join(Stage.of(this)?.outdir ?? '.', `${this.artifactId}-function-config`),
    );

    const lakeEnv = {
      VAULTIQ_DATA_DIR: '/tmp/vaultiq',
      VAULTIQ_LAKE_KIND: 's3',
      VAULTIQ_LAKE_BUCKET: this.lake.bucket.bucketName,
      VAULTIQ_STATE_KIND: 'dynamodb',
      VAULTIQ_STATE_TABLE: this.state.table.tableName,
    };
    const modelEnv: Record<string, string> = {
      VAULTIQ_EMBEDDER_KIND: 'bedrock',
      VAULTIQ_EMBEDDER_MODEL_ID: settings.embeddingModelId,
      ...(settings.embeddingDimensions === undefined
        ? {}
        : { VAULTIQ_EMBEDDER_DIMENSIONS: String(settings.embeddingDimensions) }),
      VAULTIQ_STORE_KIND: 'opensearch',
      VAULTIQ_STORE_URL: this.collection.endpoint,
      VAULTIQ_STORE_INDEX: VECTOR_INDEX,
    };

    this.connectors = new Connectors(this, 'Connectors', {
      namePrefix: prefix,
      syncRateMinutes: settings.syncRateMinutes,
      configured,
      lambdaAssetDir: settings.lambdaAssetDir,
      logRetentionDays: settings.logRetentionDays,
      config,
      lake: this.lake,
      state: this.state,
      secrets,
      // Connectors never embed (no Bedrock grant), but naming the remote
      // embedder keeps opening the config from looking for a local model.
      environment: {
        ...lakeEnv,
        VAULTIQ_EMBEDDER_KIND: 'bedrock',
        VAULTIQ_EMBEDDER_MODEL_ID: settings.embeddingModelId,
      },
    });

    this.processing = new Processing(this, 'Processing', {
      namePrefix: prefix,
      trigger: settings.processingTrigger,
      lambdaAssetDir: settings.lambdaAssetDir,
      logRetentionDays: settings.logRetentionDays,
      config,
      lake: this.lake,
      state: this.state,
      collection: this.collection,
      embeddingModelId: settings.embeddingModelId,
      environment: { ...lakeEnv, ...modelEnv },
    });

    // The API reads only the index: no lake, no sync state.
    this.api = new QueryApi(this, 'Query', {
      namePrefix: prefix,
      auth: settings.apiAuth,
      jwtIssuer: settings.jwtIssuer,
      jwtAudience: settings.jwtAudience,
      rateLimit: settings.apiRateLimit,
      burstLimit: settings.apiBurstLimit,
      lambdaAssetDir: settings.lambdaAssetDir,
      logRetentionDays: settings.logRetentionDays,
      config,
      collection: this.collection,
      modelIds: [settings.embeddingModelId, settings.answerModelId],
      environment: {
        VAULTIQ_DATA_DIR: '/tmp/vaultiq',
        ...modelEnv,
        VAULTIQ_ANSWERER_KIND: 'bedrock',
        VAULTIQ_ANSWERER_MODEL_ID: settings.answerModelId,
      },
    });
    this.collection.grantReaders(settings.collectionReaderArns);
    this.collection.finish();

    new CfnOutput(this, 'LakeBucketName', {
      description: 'S3 bucket of the raw lake (records under raw/)',
      value: this.lake.bucket.bucketName,
    });
    new CfnOutput(this, 'StateTableName', {
      description: 'DynamoDB table of the sync state',
      value: this.state.table.tableName,
    });
    new CfnOutput(this, 'CollectionEndpoint', {
      description: `OpenSearch Serverless endpoint (index ${VECTOR_INDEX})`,
      value: this.collection.endpoint,
    });
    new CfnOutput(this, 'ApiUrl', { description: 'Query API base URL', value: this.api.url });
    new CfnOutput(this, 'ConnectorFunctions', {
      description: 'Connector function names, for aws lambda invoke',
      value: SOURCE_TYPES.map((s) => this.connectors.functions[s].function.functionName).join(','),
    });
    new CfnOutput(this, 'ProcessingDeadLetterQueue', {
      description: 'S3 events that failed processing every time',
      value: this.processing.deadLetterQueue.queueUrl,
    });
  }
}
