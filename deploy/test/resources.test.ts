/**
 * What the default deployment creates: counts, encryption, schedules,
 * function wiring and outputs.
 */
import * as assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';

import { Match } from 'aws-cdk-lib/assertions';

import { SOURCE_TYPES } from '../lib/source-settings';
import { cleanUp, logicalId, resourcesOf, synth } from './synth-helpers';

after(cleanUp);

const RUST_RUNTIME = 'provided.al2023';

describe('default deployment', () => {
  const s = synth();
  const ours = resourcesOf(s, 'AWS::Lambda::Function').filter(([, r]) => r.Properties?.Runtime === RUST_RUNTIME);

  it('creates each resource the topology needs, and no more', () => {
    const counts: Record<string, number> = {
      'AWS::S3::Bucket': 1,
      'AWS::DynamoDB::Table': 1,
      'AWS::OpenSearchServerless::Collection': 1,
      'AWS::OpenSearchServerless::SecurityPolicy': 2,
      'AWS::OpenSearchServerless::AccessPolicy': 1,
      'AWS::SecretsManager::Secret': 4,
      'AWS::Events::Rule': 4,
      'AWS::Logs::LogGroup': 6,
      'AWS::Lambda::LayerVersion': 1,
      'AWS::ApiGatewayV2::Api': 1,
      'AWS::ApiGatewayV2::Stage': 1,
      'AWS::ApiGatewayV2::Route': 4,
      'AWS::ApiGatewayV2::Authorizer': 0,
      'AWS::SQS::Queue': 1,
      'AWS::Lambda::EventSourceMapping': 0,
      'Custom::S3BucketNotifications': 1,
      // Six handlers plus CDK's own bucket-notifications handler.
      'AWS::Lambda::Function': 7,
    };
    for (const [type, n] of Object.entries(counts)) {
      s.template.resourceCountIs(type, n);
    }
    assert.equal(ours.length, 6);
  });

  it('runs every handler as provided.al2023 on x86_64 from its bootstrap', () => {
    const names = ours.map(([, r]) => r.Properties?.FunctionName).sort();
    assert.deepEqual(names, [
      'vaultiq-api',
      'vaultiq-confluence-connector',
      'vaultiq-github-connector',
      'vaultiq-jira-connector',
      'vaultiq-processing',
      'vaultiq-slack-connector',
    ]);
    for (const [, r] of ours) {
      assert.equal(r.Properties?.Handler, 'bootstrap');
      assert.deepEqual(r.Properties?.Architectures, ['x86_64']);
      assert.equal(r.Properties?.Layers?.length, 1);
    }
  });

  it('schedules each connector every 15 minutes, disabled until its source is configured', () => {
    const rules = resourcesOf(s, 'AWS::Events::Rule');
    assert.equal(rules.length, 4);
    for (const [, rule] of rules) {
      assert.equal(rule.Properties?.ScheduleExpression, 'rate(15 minutes)');
      assert.equal(rule.Properties?.State, 'DISABLED');
      assert.equal(rule.Properties?.Targets.length, 1);
      // The scheduled event itself reaches the function, not a fixed input.
      assert.equal(rule.Properties?.Targets[0].Input, undefined);
    }
    for (const source of SOURCE_TYPES) {
      const fn = s.stack.connectors.functions[source].function;
      const rule = s.stack.connectors.rules[source];
      const target = s.json.Resources[logicalId(s, rule)].Properties?.Targets[0];
      assert.deepEqual(target.Arn, { 'Fn::GetAtt': [logicalId(s, fn), 'Arn'] });
    }
  });

  it('encrypts, versions and closes the lake bucket, with a lifecycle rule', () => {
    s.template.hasResourceProperties('AWS::S3::Bucket', {
      BucketEncryption: {
        ServerSideEncryptionConfiguration: [{ ServerSideEncryptionByDefault: { SSEAlgorithm: 'AES256' } }],
      },
      VersioningConfiguration: { Status: 'Enabled' },
      PublicAccessBlockConfiguration: {
        BlockPublicAcls: true,
        BlockPublicPolicy: true,
        IgnorePublicAcls: true,
        RestrictPublicBuckets: true,
      },
      LifecycleConfiguration: {
        Rules: [
          Match.objectLike({
            Status: 'Enabled',
            NoncurrentVersionExpiration: { NoncurrentDays: 30 },
            ExpiredObjectDeleteMarker: true,
          }),
        ],
      },
    });
    s.template.hasResourceProperties('AWS::S3::BucketPolicy', {
      PolicyDocument: {
        Statement: Match.arrayWith([
          Match.objectLike({
            Effect: 'Deny',
            Condition: { Bool: { 'aws:SecureTransport': 'false' } },
          }),
        ]),
      },
    });
  });

  it('keys the state table on pk/sk, on demand, encrypted, with point-in-time recovery', () => {
    s.template.hasResourceProperties('AWS::DynamoDB::Table', {
      KeySchema: [
        { AttributeName: 'pk', KeyType: 'HASH' },
        { AttributeName: 'sk', KeyType: 'RANGE' },
      ],
      AttributeDefinitions: [
        { AttributeName: 'pk', AttributeType: 'S' },
        { AttributeName: 'sk', AttributeType: 'S' },
      ],
      BillingMode: 'PAY_PER_REQUEST',
      // SSEEnabled alone means KMS with the AWS managed key.
      SSESpecification: { SSEEnabled: true },
      PointInTimeRecoverySpecification: { PointInTimeRecoveryEnabled: true },
    });
  });

  it('creates the vector collection only after its encryption and network policies', () => {
    const [[collectionId, collection]] = resourcesOf(s, 'AWS::OpenSearchServerless::Collection');
    assert.equal(collection.Properties?.Type, 'VECTORSEARCH');
    assert.equal(collection.Properties?.Name, 'vaultiq');
    const policies = Object.fromEntries(
      resourcesOf(s, 'AWS::OpenSearchServerless::SecurityPolicy').map(([id, r]) => [r.Properties?.Type, { id, r }]),
    );
    const encryption = JSON.parse(policies.encryption.r.Properties?.Policy);
    assert.deepEqual(encryption, {
      Rules: [{ ResourceType: 'collection', Resource: ['collection/vaultiq'] }],
      AWSOwnedKey: true,
    });
    const network = JSON.parse(policies.network.r.Properties?.Policy);
    assert.deepEqual(network[0].Rules, [{ ResourceType: 'collection', Resource: ['collection/vaultiq'] }]);
    const dependsOn = [collection.DependsOn ?? []].flat();
    assert.ok(dependsOn.includes(policies.encryption.id), `${collectionId} must depend on the encryption policy`);
    assert.ok(dependsOn.includes(policies.network.id), `${collectionId} must depend on the network policy`);
  });

  it('creates the four secrets with the seed names and shapes', () => {
    const secrets = resourcesOf(s, 'AWS::SecretsManager::Secret').map(([, r]) => r.Properties);
    const byName = Object.fromEntries(secrets.map((p) => [p?.Name, JSON.parse(p?.SecretString)]));
    assert.deepEqual(byName, {
      'vaultiq/confluence': { url: '', username: '', api_key: '' },
      'vaultiq/slack': { bot_token: '' },
      'vaultiq/jira': { server: '', username: '', api_token: '' },
      'vaultiq/github': { token: '' },
    });
  });

  it('gives every handler its own log group with a retention', () => {
    const groups = resourcesOf(s, 'AWS::Logs::LogGroup');
    for (const [, g] of groups) {
      assert.equal(g.Properties?.RetentionInDays, 30);
      assert.match(g.Properties?.LogGroupName, /^\/aws\/lambda\/vaultiq-/);
    }
    for (const [, fn] of ours) {
      assert.ok(fn.Properties?.LoggingConfig?.LogGroup, `${fn.Properties?.FunctionName} names its log group`);
    }
  });

  it('configures the functions through VAULTIQ_ variables', () => {
    const env = (construct: unknown): Record<string, unknown> =>
      s.json.Resources[logicalId(s, construct)].Properties?.Environment.Variables;
    const bucket = { Ref: logicalId(s, s.stack.lake.bucket) };
    const table = { Ref: logicalId(s, s.stack.state.table) };
    const endpoint = { 'Fn::GetAtt': [logicalId(s, s.stack.collection.collection), 'CollectionEndpoint'] };
    const confluence = env(s.stack.connectors.functions.confluence.function);
    assert.deepEqual(
      { ...confluence, RUST_LOG: undefined },
      {
        RUST_LOG: undefined,
        VAULTIQ_DATA_DIR: '/tmp/vaultiq',
        VAULTIQ_LAKE_KIND: 's3',
        VAULTIQ_LAKE_BUCKET: bucket,
        VAULTIQ_STATE_KIND: 'dynamodb',
        VAULTIQ_STATE_TABLE: table,
        VAULTIQ_EMBEDDER_KIND: 'bedrock',
        VAULTIQ_EMBEDDER_MODEL_ID: 'amazon.titan-embed-text-v2:0',
        VAULTIQ_SOURCE: 'confluence',
        VAULTIQ_CONFIG: '/opt/vaultiq/connector-confluence.toml',
      },
    );
    const processing = env(s.stack.processing.fn.function);
    assert.deepEqual(processing.VAULTIQ_LAKE_BUCKET, bucket);
    assert.deepEqual(processing.VAULTIQ_STATE_TABLE, table);
    assert.equal(processing.VAULTIQ_EMBEDDER_KIND, 'bedrock');
    assert.equal(processing.VAULTIQ_EMBEDDER_MODEL_ID, 'amazon.titan-embed-text-v2:0');
    assert.equal(processing.VAULTIQ_STORE_KIND, 'opensearch');
    assert.deepEqual(processing.VAULTIQ_STORE_URL, endpoint);
    assert.equal(processing.VAULTIQ_STORE_INDEX, 'vaultiq-vectors');
    assert.equal(processing.VAULTIQ_CONFIG, '/opt/vaultiq/processing.toml');
    const api = env(s.stack.api.fn.function);
    assert.equal(api.VAULTIQ_ANSWERER_KIND, 'bedrock');
    assert.equal(api.VAULTIQ_ANSWERER_MODEL_ID, 'anthropic.claude-3-haiku-20240307-v1:0');
    assert.deepEqual(api.VAULTIQ_STORE_URL, endpoint);
    // The API reads only the index.
    assert.equal(api.VAULTIQ_LAKE_BUCKET, undefined);
    assert.equal(api.VAULTIQ_STATE_TABLE, undefined);
  });

  it('ends connector runs before the next scheduled one starts', () => {
    for (const source of SOURCE_TYPES) {
      const fn = s.json.Resources[logicalId(s, s.stack.connectors.functions[source].function)];
      assert.equal(fn.Properties?.Timeout, 14 * 60);
    }
    const configs = resourcesOf(s, 'AWS::Lambda::EventInvokeConfig').map(([, r]) => r.Properties);
    const connectorConfigs = configs.filter((c) => c?.MaximumRetryAttempts === 0);
    assert.equal(connectorConfigs.length, 4);
  });

  it('sends raw/ record creations and removals to the processing function', () => {
    const processing = { 'Fn::GetAtt': [logicalId(s, s.stack.processing.fn.function), 'Arn'] };
    const filter = {
      Key: {
        FilterRules: [
          { Name: 'suffix', Value: '.json' },
          { Name: 'prefix', Value: 'raw/' },
        ],
      },
    };
    s.template.hasResourceProperties('Custom::S3BucketNotifications', {
      NotificationConfiguration: {
        LambdaFunctionConfigurations: [
          { Events: ['s3:ObjectCreated:*'], Filter: filter, LambdaFunctionArn: processing },
          { Events: ['s3:ObjectRemoved:*'], Filter: filter, LambdaFunctionArn: processing },
        ],
      },
    });
    // Direct S3 invocations that fail every retry land in the dead-letter queue.
    const fn = s.json.Resources[logicalId(s, s.stack.processing.fn.function)];
    assert.deepEqual(fn.Properties?.DeadLetterConfig, {
      TargetArn: { 'Fn::GetAtt': [logicalId(s, s.stack.processing.deadLetterQueue), 'Arn'] },
    });
  });

  it('outputs the bucket, table, collection endpoint and API URL', () => {
    for (const name of ['LakeBucketName', 'StateTableName', 'CollectionEndpoint', 'ApiUrl']) {
      s.template.hasOutput(name, {});
    }
    s.template.hasOutput('CollectionEndpoint', {
      Value: { 'Fn::GetAtt': [logicalId(s, s.stack.collection.collection), 'CollectionEndpoint'] },
    });
  });
});
