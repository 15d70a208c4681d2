/**
 * The API function behind an API Gateway HTTP API: the seed's contract
 * (`POST /api/query`, `GET /api/sources`, `GET /health`) served by the same
 * router as `vaultiq serve`. Any other path or method also reaches the
 * function, so callers get the router's JSON 404/405 rather than API
 * Gateway's own body.
 *
 * Authorization (`vaultiq:apiAuth`): `iam` (default: SigV4-signed requests
 * from principals allowed `execute-api:Invoke`), `jwt` (an OIDC issuer such
 * as Cognito or Entra ID), or `none`. `/health` is always open, so load
 * balancers and uptime checks need no credentials; it reveals nothing.
 */
import * as path from 'node:path';

import { Duration } from 'aws-cdk-lib';
import * as apigw from 'aws-cdk-lib/aws-apigatewayv2';
import * as authorizers from 'aws-cdk-lib/aws-apigatewayv2-authorizers';
import * as integrations from 'aws-cdk-lib/aws-apigatewayv2-integrations';
import { Construct } from 'constructs';

import { grantInvokeModels } from './bedrock-models';
import { FunctionConfigLayer } from './function-config';
import { RustFunction } from './rust-function';
import { ApiAuth } from './settings';
import { VectorCollection } from './vector-collection';

/** The config file of the API function in the config layer. */
export const API_CONFIG_FILE = 'api.toml';

/** What the API needs. */
export interface QueryApiProps {
  readonly namePrefix: string;
  readonly auth: ApiAuth;
  readonly jwtIssuer?: string;
  readonly jwtAudience?: string[];
  readonly rateLimit: number;
  readonly burstLimit: number;
  readonly lambdaAssetDir: string;
  readonly logRetentionDays: number;
  readonly config: FunctionConfigLayer;
  readonly collection: VectorCollection;
  readonly modelIds: string[];
  /** Every `VAULTIQ_*` variable (embedder, answerer, store). */
  readonly environment: Record<string, string>;
}

/** The HTTP API and its function. */
export class QueryApi extends Construct {
  /** The function. */
  public readonly fn: RustFunction;
  /** The API. */
  public readonly api: apigw.HttpApi;
  /** The invoke URL of the default stage. */
  public readonly url: string;

  constructor(scope: Construct, id: string, props: QueryApiProps) {
    super(scope, id);
    this.fn = new RustFunction(this, 'Api', {
      functionName: `${props.namePrefix}-api`,
      description: 'VaultIQ query API (/api/query, /api/sources, /health)',
      codeDir: path.join(props.lambdaAssetDir, 'api'),
      memorySize: 1024,
      // API Gateway gives up on an integration after 30 seconds.
      timeout: Duration.seconds(29),
      environment: { ...props.environment, VAULTIQ_CONFIG: props.config.pathOf(API_CONFIG_FILE) },
      logRetentionDays: props.logRetentionDays,
      layers: [props.config.layer],
    });
    props.collection.grantDataAccess(this.fn.role, 'read');
    grantInvokeModels(this.fn.role, props.modelIds, true);

    this.api = new apigw.HttpApi(this, 'HttpApi', {
      apiName: `${props.namePrefix}-api`,
      description: 'VaultIQ query API',
      createDefaultStage: false,
      defaultAuthorizer: authorizer(props),
    });
    const stage = this.api.addStage('DefaultStage', {
      stageName: '$default',
      autoDeploy: true,
      // Every query costs Bedrock calls: cap what one client can spend.
      throttle: { rateLimit: props.rateLimit, burstLimit: props.burstLimit },
    });
    this.url = stage.url;
    const integration = new integrations.HttpLambdaIntegration('Handler', this.fn.function);
    this.api.addRoutes({
      path: '/health',
      methods: [apigw.HttpMethod.GET],
      integration,
      authorizer: new apigw.HttpNoneAuthorizer(),
    });
    this.api.addRoutes({ path: '/api/query', methods: [apigw.HttpMethod.POST], integration });
    this.api.addRoutes({ path: '/api/sources', methods: [apigw.HttpMethod.GET], integration });
    this.api.addRoutes({ path: '/{proxy+}', methods: [apigw.HttpMethod.ANY], integration });
  }
}

function authorizer(props: QueryApiProps): apigw.IHttpRouteAuthorizer {
  switch (props.auth) {
    case 'iam':
      return new authorizers.HttpIamAuthorizer();
    case 'jwt':
      if (props.jwtIssuer === undefined || props.jwtAudience === undefined) {
        throw new Error('apiAuth `jwt` needs context `vaultiq:jwtIssuer` and `vaultiq:jwtAudience`');
      }
      return new authorizers.HttpJwtAuthorizer('JwtAuthorizer', props.jwtIssuer, {
        jwtAudience: props.jwtAudience,
      });
    case 'none':
      return new apigw.HttpNoneAuthorizer();
  }
}
