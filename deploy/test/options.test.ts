/**
 * The context options: schedule rate, sources and their config files, API
 * authorizers, the SQS trigger; and the clear errors bad values get.
 */
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { after, describe, it } from 'node:test';

import { Match } from 'aws-cdk-lib/assertions';

import { connectorConfig } from '../lib/function-config';
import { DEFAULTS, settingsFromContext } from '../lib/settings';
import { DEPLOY_DIR, cleanUp, logicalId, placeholderAssets, resourcesOf, synth } from './synth-helpers';

after(cleanUp);

/** The config files the layer ships, read from the synthesised assembly. */
function layerFiles(outdir: string): Record<string, string> {
  const folder = path.join(outdir, 'VaultIQ-function-config', 'vaultiq');
  return Object.fromEntries(
    fs.readdirSync(folder).map((name) => [name, fs.readFileSync(path.join(folder, name), 'utf8')]),
  );
}

describe('sources', () => {
  const s = synth({
    'vaultiq:syncRateMinutes': '5',
    'vaultiq:sources': JSON.stringify({
      jira: { base_url: 'https://acme.atlassian.net/', projects: ['OPS', 'SEC'], deployment: 'cloud' },
      slack: {},
      github: { repos: ['acme/infra'], include: ['issues', 'docs'] },
    }),
  });

  it('enables the schedules of the configured sources at the configured rate', () => {
    const state = Object.fromEntries(
      (['confluence', 'slack', 'jira', 'github'] as const).map((source) => [
        source,
        s.json.Resources[logicalId(s, s.stack.connectors.rules[source])].Properties?.State,
      ]),
    );
    assert.deepEqual(state, { confluence: 'DISABLED', slack: 'ENABLED', jira: 'ENABLED', github: 'ENABLED' });
    for (const [, rule] of resourcesOf(s, 'AWS::Events::Rule')) {
      assert.equal(rule.Properties?.ScheduleExpression, 'rate(5 minutes)');
    }
    // One minute less than the schedule, so runs never overlap.
    const jira = s.json.Resources[logicalId(s, s.stack.connectors.functions.jira.function)];
    assert.equal(jira.Properties?.Timeout, 4 * 60);
  });

  it('ships each connector its source entry, credentials from its secret', () => {
    const files = layerFiles(s.outdir);
    assert.deepEqual(Object.keys(files).sort(), [
      'api.toml',
      'connector-confluence.toml',
      'connector-github.toml',
      'connector-jira.toml',
      'connector-slack.toml',
      'processing.toml',
    ]);
    assert.equal(
      files['connector-jira.toml'],
      [
        '# Written by the VaultIQ CDK app (deploy/); redeploy to change it.',
        '',
        '[[sources]]',
        'type = "jira"',
        'name = "jira"',
        'base_url = "https://acme.atlassian.net"',
        'deployment = "cloud"',
        'projects = ["OPS", "SEC"]',
        'credentials = { secret = "vaultiq/jira" }',
        '',
      ].join('\n'),
    );
    assert.match(
      files['connector-slack.toml'],
      /^\[\[sources\]\]\ntype = "slack"\nname = "slack"\ncredentials = \{ secret = "vaultiq\/slack" \}$/m,
    );
    assert.match(files['connector-github.toml'], /^include = \["issues", "docs"\]$/m);
    assert.doesNotMatch(files['connector-confluence.toml'], /\[\[sources\]\]/);
    assert.match(files['processing.toml'], /^\[store\]\nauth = "aoss"$/m);
    assert.match(files['api.toml'], /^\[store\]\nauth = "aoss"$/m);
  });

  it('writes TOML strings that survive quotes, backslashes and non-ASCII text', () => {
    const text = connectorConfig('jira', { jql: 'project = "OPS" AND text ~ "C:\\\\temp" AND summary ~ "Grüße"' });
    assert.match(text, /^jql = "project = \\"OPS\\" AND text ~ \\"C:\\\\\\\\temp\\" AND summary ~ \\"Grüße\\""$/m);
  });
});

describe('API authorizer', () => {
  const routes = (overrides: Record<string, unknown>): Record<string, string> => {
    const s = synth(overrides);
    return Object.fromEntries(
      resourcesOf(s, 'AWS::ApiGatewayV2::Route').map(([, r]) => [
        r.Properties?.RouteKey,
        r.Properties?.AuthorizationType,
      ]),
    );
  };

  it('signs with IAM by default, leaving /health open', () => {
    assert.deepEqual(routes({}), {
      'GET /health': 'NONE',
      'POST /api/query': 'AWS_IAM',
      'GET /api/sources': 'AWS_IAM',
      'ANY /{proxy+}': 'AWS_IAM',
    });
  });

  it('checks JWTs of the configured issuer and audience', () => {
    const s = synth({
      'vaultiq:apiAuth': 'jwt',
      'vaultiq:jwtIssuer': 'https://cognito-idp.us-east-1.amazonaws.com/us-east-1_example',
      'vaultiq:jwtAudience': 'client-a,client-b',
    });
    s.template.hasResourceProperties('AWS::ApiGatewayV2::Authorizer', {
      AuthorizerType: 'JWT',
      JwtConfiguration: {
        Issuer: 'https://cognito-idp.us-east-1.amazonaws.com/us-east-1_example',
        Audience: ['client-a', 'client-b'],
      },
    });
    s.template.hasResourceProperties('AWS::ApiGatewayV2::Route', {
      RouteKey: 'POST /api/query',
      AuthorizationType: 'JWT',
    });
    s.template.hasResourceProperties('AWS::ApiGatewayV2::Route', {
      RouteKey: 'GET /health',
      AuthorizationType: 'NONE',
    });
  });

  it('can be switched off', () => {
    assert.ok(Object.values(routes({ 'vaultiq:apiAuth': 'none' })).every((auth) => auth === 'NONE'));
  });

  it('throttles the stage', () => {
    const s = synth({ 'vaultiq:apiRateLimit': 7, 'vaultiq:apiBurstLimit': 9 });
    s.template.hasResourceProperties('AWS::ApiGatewayV2::Stage', {
      StageName: '$default',
      AutoDeploy: true,
      DefaultRouteSettings: { ThrottlingRateLimit: 7, ThrottlingBurstLimit: 9 },
    });
  });
});

describe('SQS trigger', () => {
  const s = synth({ 'vaultiq:processingTrigger': 'sqs' });

  it('queues the S3 events and reports partial batch failures', () => {
    const queue = logicalId(s, s.stack.processing.queue);
    const dlq = logicalId(s, s.stack.processing.deadLetterQueue);
    s.template.resourceCountIs('AWS::SQS::Queue', 2);
    s.template.hasResourceProperties('AWS::SQS::Queue', {
      VisibilityTimeout: 1800,
      RedrivePolicy: { deadLetterTargetArn: { 'Fn::GetAtt': [dlq, 'Arn'] }, maxReceiveCount: 5 },
      SqsManagedSseEnabled: true,
    });
    s.template.hasResourceProperties('AWS::Lambda::EventSourceMapping', {
      EventSourceArn: { 'Fn::GetAtt': [queue, 'Arn'] },
      FunctionResponseTypes: ['ReportBatchItemFailures'],
      BatchSize: 10,
      ScalingConfig: { MaximumConcurrency: 5 },
    });
    s.template.hasResourceProperties('Custom::S3BucketNotifications', {
      NotificationConfiguration: {
        QueueConfigurations: [
          Match.objectLike({ Events: ['s3:ObjectCreated:*'], QueueArn: { 'Fn::GetAtt': [queue, 'Arn'] } }),
          Match.objectLike({ Events: ['s3:ObjectRemoved:*'], QueueArn: { 'Fn::GetAtt': [queue, 'Arn'] } }),
        ],
      },
    });
    // No direct invocation, so no asynchronous dead-letter config.
    const fn = s.json.Resources[logicalId(s, s.stack.processing.fn.function)];
    assert.equal(fn.Properties?.DeadLetterConfig, undefined);
  });
});

describe('bad settings', () => {
  const assets = placeholderAssets();
  const settings = (context: Record<string, unknown>, env: Record<string, string | undefined> = {}) =>
    settingsFromContext((key) => context[key], { VAULTIQ_LAMBDA_ASSET_DIR: assets, ...env }, DEPLOY_DIR);
  after(() => fs.rmSync(assets, { recursive: true, force: true }));

  it('has the seed defaults', () => {
    const d = settings({});
    assert.equal(d.syncRateMinutes, 15);
    assert.equal(d.embeddingModelId, DEFAULTS.embeddingModelId);
    assert.equal(d.answerModelId, 'anthropic.claude-3-haiku-20240307-v1:0');
    assert.equal(d.apiAuth, 'iam');
    assert.deepEqual(d.sources, {});
  });

  const cases: [string, Record<string, unknown>, RegExp][] = [
    [
      'a zero rate',
      { 'vaultiq:syncRateMinutes': 0 },
      /`vaultiq:syncRateMinutes` must be a whole number in 1\.\.1440, got 0/,
    ],
    ['a fractional rate', { 'vaultiq:syncRateMinutes': '7.5' }, /`vaultiq:syncRateMinutes` must be a whole number/],
    [
      'an unknown authorizer',
      { 'vaultiq:apiAuth': 'basic' },
      /`vaultiq:apiAuth` must be one of iam, jwt, none, got "basic"/,
    ],
    [
      'JWT without an issuer',
      { 'vaultiq:apiAuth': 'jwt', 'vaultiq:jwtAudience': ['a'] },
      /`vaultiq:jwtIssuer` must be an https:\/\/ URL/,
    ],
    [
      'JWT without an audience',
      { 'vaultiq:apiAuth': 'jwt', 'vaultiq:jwtIssuer': 'https://idp.example.com' },
      /`vaultiq:jwtAudience` must be a non-empty list/,
    ],
    [
      'a retention CloudWatch does not offer',
      { 'vaultiq:logRetentionDays': 31 },
      /`vaultiq:logRetentionDays` must be one of 1, 3, 5/,
    ],
    [
      'an upper-case name prefix',
      { 'vaultiq:namePrefix': 'VaultIQ' },
      /`vaultiq:namePrefix` must be 3\.\.25 lowercase/,
    ],
    [
      'a model id with spaces',
      { 'vaultiq:answerModelId': 'claude 3' },
      /`vaultiq:answerModelId` must be a Bedrock model id/,
    ],
    [
      'an unknown trigger',
      { 'vaultiq:processingTrigger': 'kinesis' },
      /`vaultiq:processingTrigger` must be one of s3, sqs/,
    ],
    ['sources that are not JSON', { 'vaultiq:sources': '{jira:' }, /`vaultiq:sources` must be JSON/],
    [
      'an unknown source type',
      { 'vaultiq:sources': { notion: {} } },
      /`vaultiq:sources` must be one of confluence, slack, jira, github, got "notion"/,
    ],
    [
      'a reader that is not an IAM role or user',
      { 'vaultiq:collectionReaderArns': ['arn:aws:iam::123456789012:root'] },
      /`vaultiq:collectionReaderArns` must be a list of IAM role or user ARNs/,
    ],
    [
      'a wildcard reader',
      { 'vaultiq:collectionReaderArns': '*' },
      /`vaultiq:collectionReaderArns` must be a list of IAM role or user ARNs/,
    ],
    [
      'an unknown source setting',
      { 'vaultiq:sources': { slack: { channel: ['ops'] } } },
      /`vaultiq:sources.slack.channel` is not a setting of a slack source \(expected base_url, channels, lookback_days\)/,
    ],
    [
      'credentials in the settings',
      { 'vaultiq:sources': { github: { repos: ['a/b'], credentials: { token_env: 'T' } } } },
      /`vaultiq:sources.github.credentials` is not a setting here: the github connector reads the secret vaultiq\/github/,
    ],
    [
      'Confluence without its site',
      { 'vaultiq:sources': { confluence: { spaces: ['OPS'] } } },
      /`vaultiq:sources.confluence.base_url` must be set to the site URL/,
    ],
    [
      'Jira without projects or JQL',
      { 'vaultiq:sources': { jira: { base_url: 'https://a.atlassian.net' } } },
      /`vaultiq:sources.jira.projects` must be a non-empty list of project keys/,
    ],
    [
      'GitHub repos not owner/name',
      { 'vaultiq:sources': { github: { repos: ['infra'] } } },
      /`vaultiq:sources.github.repos` must be a list of `owner\/name`/,
    ],
    [
      'a lookback of zero days',
      { 'vaultiq:sources': { slack: { lookback_days: 0 } } },
      /`vaultiq:sources.slack.lookback_days` must be a whole number of days/,
    ],
    [
      'a base URL without scheme',
      { 'vaultiq:sources': { jira: { base_url: 'acme.atlassian.net', jql: 'x' } } },
      /`vaultiq:sources.jira.base_url` must be an http\(s\) URL/,
    ],
  ];
  for (const [what, context, message] of cases) {
    it(`rejects ${what}`, () => {
      assert.throws(() => settings(context), message);
    });
  }

  it('names the build step when the handler binaries are missing', () => {
    const empty = fs.mkdtempSync(path.join(assets, 'empty-'));
    assert.throws(
      () => settings({}, { VAULTIQ_LAMBDA_ASSET_DIR: empty }),
      /no Lambda handler binary connector\/bootstrap, processing\/bootstrap, api\/bootstrap under .*: run scripts\/build-lambdas first/,
    );
  });
});
