/**
 * Least privilege: no wildcard action and no unscoped resource in any
 * policy the stack writes (CDK's own custom-resource handlers excepted,
 * and named), each function granted only what its job needs, and the
 * collection's data-access policy naming only the function roles.
 */
import * as assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';

import { SOURCE_TYPES } from '../lib/source-settings';
import { Resource, Synth, cleanUp, flatten, logicalId, resourcesOf, synth } from './synth-helpers';

after(cleanUp);

interface Statement {
  Sid?: string;
  Effect: 'Allow' | 'Deny';
  Action?: string | string[];
  NotAction?: unknown;
  Resource?: unknown;
  NotResource?: unknown;
  Principal?: unknown;
  Condition?: Record<string, Record<string, unknown>>;
}

const list = <T>(value: T | T[] | undefined): T[] =>
  value === undefined ? [] : Array.isArray(value) ? value : [value];

/** Roles of functions that are not VaultIQ handlers: CDK's custom-resource handlers. */
function cdkHandlerRoles(s: Synth): Set<string> {
  return new Set(
    resourcesOf(s, 'AWS::Lambda::Function')
      .filter(([, r]) => r.Properties?.Runtime !== 'provided.al2023')
      .map(([, r]) => r.Properties?.Role['Fn::GetAtt'][0] as string),
  );
}

/** Every permission or resource policy statement the stack writes, with where it is. */
function statements(s: Synth): { where: string; statement: Statement }[] {
  const excepted = cdkHandlerRoles(s);
  const found: { where: string; statement: Statement }[] = [];
  const add = (where: string, document: { Statement: Statement | Statement[] } | undefined): void => {
    for (const statement of list(document?.Statement)) {
      found.push({ where, statement });
    }
  };
  for (const [id, r] of Object.entries(s.json.Resources) as [string, Resource][]) {
    const p = r.Properties ?? {};
    switch (r.Type) {
      case 'AWS::IAM::Policy':
      case 'AWS::IAM::ManagedPolicy': {
        const roles = list(p.Roles).map((role: { Ref: string }) => role.Ref);
        if (roles.length > 0 && roles.every((role) => excepted.has(role))) {
          continue;
        }
        add(id, p.PolicyDocument);
        break;
      }
      case 'AWS::IAM::Role':
        if (excepted.has(id)) {
          continue;
        }
        for (const inline of list(p.Policies)) {
          add(
            `${id}/${(inline as { PolicyName: string }).PolicyName}`,
            (inline as { PolicyDocument: any }).PolicyDocument,
          );
        }
        break;
      case 'AWS::S3::BucketPolicy':
      case 'AWS::SQS::QueuePolicy':
        add(id, p.PolicyDocument);
        break;
    }
  }
  return found;
}

/** Actions of the Allow statements attached to one role. */
function allowedFor(s: Synth, roleId: string): Statement[] {
  return resourcesOf(s, 'AWS::IAM::Policy')
    .filter(([, r]) => list(r.Properties?.Roles).some((role: { Ref: string }) => role.Ref === roleId))
    .flatMap(([, r]) => list<Statement>(r.Properties?.PolicyDocument.Statement))
    .filter((st) => st.Effect === 'Allow');
}

function actionsOf(sts: Statement[]): string[] {
  return sts.flatMap((st) => list(st.Action)).sort();
}

function resourcesFor(sts: Statement[], action: string): string[] {
  return sts.filter((st) => list(st.Action).includes(action)).flatMap((st) => list(st.Resource).map(flatten));
}

function checkNoWildcards(s: Synth): void {
  const found = statements(s);
  assert.ok(found.length > 20, `expected the stack's statements, found ${found.length}`);
  for (const { where, statement } of found) {
    assert.equal(statement.NotAction, undefined, `${where}: NotAction`);
    assert.equal(statement.NotResource, undefined, `${where}: NotResource`);
    if (statement.Effect === 'Deny') {
      // The only denials are the TLS-only rules on the bucket and queues.
      assert.deepEqual(statement.Condition, { Bool: { 'aws:SecureTransport': 'false' } }, `${where}: Deny`);
      continue;
    }
    for (const action of list(statement.Action)) {
      assert.ok(action !== '*' && !action.endsWith(':*'), `${where}: wildcard action ${action}`);
    }
    const resources = list(statement.Resource);
    assert.ok(resources.length > 0, `${where}: no resource`);
    for (const resource of resources) {
      assert.notEqual(flatten(resource), '*', `${where}: unscoped resource for ${list(statement.Action)}`);
    }
  }
}

describe('policies', () => {
  const s = synth({
    'vaultiq:sources': { confluence: { base_url: 'https://acme.atlassian.net', spaces: ['OPS'] } },
  });
  const roleOf = (fn: { role: unknown }): string => logicalId(s, fn.role);

  it('hold no wildcard action and no unscoped resource', () => {
    checkNoWildcards(s);
  });

  it('except only CDK’s bucket-notifications handler, which is scoped to the lake bucket', () => {
    const excepted = [...cdkHandlerRoles(s)];
    assert.equal(excepted.length, 1);
    assert.match(excepted[0], /^BucketNotificationsHandler/);
    const statementsOfHandler = allowedFor(s, excepted[0]);
    assert.deepEqual(actionsOf(statementsOfHandler), ['s3:PutBucketNotification']);
    assert.deepEqual(resourcesFor(statementsOfHandler, 's3:PutBucketNotification'), [
      `<${logicalId(s, s.stack.lake.bucket)}.Arn>`,
    ]);
  });

  it('attach no managed policy to the handler roles', () => {
    const excepted = cdkHandlerRoles(s);
    for (const [id, role] of resourcesOf(s, 'AWS::IAM::Role')) {
      if (!excepted.has(id)) {
        assert.equal(role.Properties?.ManagedPolicyArns, undefined, id);
        assert.deepEqual(role.Properties?.AssumeRolePolicyDocument.Statement[0].Principal, {
          Service: 'lambda.amazonaws.com',
        });
      }
    }
  });

  it('let each connector touch only its prefix, the state table and its own secret', () => {
    const bucket = `<${logicalId(s, s.stack.lake.bucket)}.Arn>`;
    const table = `<${logicalId(s, s.stack.state.table)}.Arn>`;
    for (const source of SOURCE_TYPES) {
      const fn = s.stack.connectors.functions[source];
      const sts = allowedFor(s, roleOf(fn));
      assert.deepEqual(actionsOf(sts), [
        'dynamodb:BatchGetItem',
        'dynamodb:BatchWriteItem',
        'dynamodb:ConditionCheckItem',
        'dynamodb:DeleteItem',
        'dynamodb:GetItem',
        'dynamodb:PutItem',
        'dynamodb:Query',
        'dynamodb:UpdateItem',
        'logs:CreateLogStream',
        'logs:PutLogEvents',
        's3:DeleteObject',
        's3:GetObject',
        's3:ListBucket',
        's3:PutObject',
        'secretsmanager:GetSecretValue',
      ]);
      assert.deepEqual(resourcesFor(sts, 's3:PutObject'), [`${bucket}/raw/${source}/*`]);
      const list = sts.find((st) => st.Action === 's3:ListBucket');
      assert.deepEqual(list?.Condition, { StringLike: { 's3:prefix': [`raw/${source}/*`] } });
      assert.deepEqual(resourcesFor(sts, 'dynamodb:PutItem'), [table]);
      assert.deepEqual(resourcesFor(sts, 'secretsmanager:GetSecretValue'), [
        `<${logicalId(s, s.stack.node.findChild('Secrets').node.findChild(source))}>`,
      ]);
      assert.deepEqual(resourcesFor(sts, 'logs:PutLogEvents'), [`<${logicalId(s, fn.logGroup)}.Arn>`]);
    }
  });

  it('let the processing function read the lake, write state and the index, and embed', () => {
    const sts = allowedFor(s, roleOf(s.stack.processing.fn));
    const actions = actionsOf(sts);
    for (const absent of ['s3:PutObject', 's3:DeleteObject', 'secretsmanager:GetSecretValue']) {
      assert.ok(!actions.includes(absent), absent);
    }
    assert.deepEqual(resourcesFor(sts, 's3:GetObject'), [`<${logicalId(s, s.stack.lake.bucket)}.Arn>/raw/*`]);
    assert.deepEqual(resourcesFor(sts, 'aoss:APIAccessAll'), [`<${logicalId(s, s.stack.collection.collection)}.Arn>`]);
    assert.deepEqual(resourcesFor(sts, 'bedrock:InvokeModel'), [
      'arn:<AWS::Partition>:bedrock:<AWS::Region>::foundation-model/amazon.titan-embed-text-v2:0',
    ]);
    assert.ok(!actions.includes('bedrock:InvokeModelWithResponseStream'));
    assert.deepEqual(resourcesFor(sts, 'sqs:SendMessage'), [
      `<${logicalId(s, s.stack.processing.deadLetterQueue)}.Arn>`,
    ]);
  });

  it('let the API function only query the index and call the two models', () => {
    const sts = allowedFor(s, roleOf(s.stack.api.fn));
    assert.deepEqual(actionsOf(sts), [
      'aoss:APIAccessAll',
      'bedrock:InvokeModel',
      'bedrock:InvokeModelWithResponseStream',
      'logs:CreateLogStream',
      'logs:PutLogEvents',
    ]);
    const models = [
      'arn:<AWS::Partition>:bedrock:<AWS::Region>::foundation-model/amazon.titan-embed-text-v2:0',
      'arn:<AWS::Partition>:bedrock:<AWS::Region>::foundation-model/anthropic.claude-3-haiku-20240307-v1:0',
    ];
    assert.deepEqual(resourcesFor(sts, 'bedrock:InvokeModel'), models);
    assert.deepEqual(resourcesFor(sts, 'bedrock:InvokeModelWithResponseStream'), models);
  });

  it('name only the processing and API roles in the data-access policy', () => {
    const [[, access]] = resourcesOf(s, 'AWS::OpenSearchServerless::AccessPolicy');
    assert.equal(access.Properties?.Type, 'data');
    const rules = JSON.parse(flatten(access.Properties?.Policy)) as {
      Rules: { ResourceType: string; Resource: string[]; Permission: string[] }[];
      Principal: string[];
    }[];
    const processing = `<${roleOf(s.stack.processing.fn)}.Arn>`;
    const api = `<${roleOf(s.stack.api.fn)}.Arn>`;
    assert.deepEqual(rules.flatMap((r) => r.Principal).sort(), [api, processing].sort());
    const byPrincipal = Object.fromEntries(rules.map((r) => [r.Principal[0], r.Rules]));
    for (const principal of [processing, api]) {
      const index = byPrincipal[principal].find((r) => r.ResourceType === 'index');
      assert.deepEqual(index?.Resource, ['index/vaultiq/vaultiq-vectors']);
      const collection = byPrincipal[principal].find((r) => r.ResourceType === 'collection');
      assert.deepEqual(collection?.Resource, ['collection/vaultiq']);
      for (const permission of [...(index?.Permission ?? []), ...(collection?.Permission ?? [])]) {
        assert.ok(!permission.endsWith('*'), permission);
      }
    }
    assert.ok(
      byPrincipal[processing].find((r) => r.ResourceType === 'index')?.Permission.includes('aoss:WriteDocument'),
    );
    const apiIndex = byPrincipal[api].find((r) => r.ResourceType === 'index')?.Permission ?? [];
    assert.ok(!apiIndex.includes('aoss:WriteDocument') && apiIndex.includes('aoss:ReadDocument'));
    // The first of the two functions to connect creates the index.
    assert.ok(apiIndex.includes('aoss:CreateIndex'));
  });

  it('scope every invoke permission to its event source', () => {
    for (const [id, permission] of resourcesOf(s, 'AWS::Lambda::Permission')) {
      assert.equal(permission.Properties?.Action, 'lambda:InvokeFunction', id);
      assert.ok(permission.Properties?.SourceArn, `${id} has no SourceArn`);
    }
  });
});

describe('operators reading the index', () => {
  it('are named read-only in the data-access policy, next to the function roles', () => {
    const ops = 'arn:aws:iam::123456789012:role/ops/search-admin';
    const s = synth({ 'vaultiq:collectionReaderArns': [ops] });
    const [[, access]] = resourcesOf(s, 'AWS::OpenSearchServerless::AccessPolicy');
    const rules = JSON.parse(flatten(access.Properties?.Policy)) as {
      Rules: { ResourceType: string; Permission: string[] }[];
      Principal: string[];
    }[];
    assert.deepEqual(
      rules.map((r) => r.Principal),
      [[`<${logicalId(s, s.stack.processing.fn.role)}.Arn>`], [`<${logicalId(s, s.stack.api.fn.role)}.Arn>`], [ops]],
    );
    assert.deepEqual(rules[2].Rules.find((r) => r.ResourceType === 'index')?.Permission, [
      'aoss:DescribeIndex',
      'aoss:ReadDocument',
    ]);
  });
});

describe('policies of the other options', () => {
  it('stay scoped with the SQS trigger, JWT auth and an inference-profile model', () => {
    const s = synth({
      'vaultiq:processingTrigger': 'sqs',
      'vaultiq:apiAuth': 'jwt',
      'vaultiq:jwtIssuer': 'https://login.example.com/tenant/v2.0',
      'vaultiq:jwtAudience': ['vaultiq-api'],
      'vaultiq:answerModelId': 'us.anthropic.claude-3-5-haiku-20241022-v1:0',
    });
    checkNoWildcards(s);
    const sts = allowedFor(s, logicalId(s, s.stack.api.fn.role));
    assert.deepEqual(resourcesFor(sts, 'bedrock:InvokeModel').sort(), [
      'arn:<AWS::Partition>:bedrock:*::foundation-model/anthropic.claude-3-5-haiku-20241022-v1:0',
      'arn:<AWS::Partition>:bedrock:<AWS::Region>::foundation-model/amazon.titan-embed-text-v2:0',
      'arn:<AWS::Partition>:bedrock:<AWS::Region>:<AWS::AccountId>:inference-profile/us.anthropic.claude-3-5-haiku-20241022-v1:0',
    ]);
    const processing = allowedFor(s, logicalId(s, s.stack.processing.fn.role));
    assert.ok(
      resourcesFor(processing, 'sqs:ReceiveMessage').every(
        (r) => r === `<${logicalId(s, s.stack.processing.queue)}.Arn>`,
      ),
    );
  });
});
