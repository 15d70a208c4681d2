/**
 * The deployment's settings: what `cdk.json` context or `-c vaultiq:KEY=VALUE`
 * can change, with defaults and checks. Every bad value fails synth with a
 * message naming the context key and what was expected, before any AWS call.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';

import { SOURCE_TYPES, SourceType, SourceSettings, validateSourceSettings } from './source-settings';

/** How callers of the HTTP API authenticate. */
export type ApiAuth = 'iam' | 'jwt' | 'none';

/** How S3 events reach the processing function. */
export type ProcessingTrigger = 's3' | 'sqs';

/** Everything the stack needs to know; see `settingsFromContext`. */
export interface VaultIqSettings {
  /** Prefix of function, collection and policy names (default `vaultiq`). */
  readonly namePrefix: string;
  /** Minutes between two scheduled syncs of one source (default 15). */
  readonly syncRateMinutes: number;
  /** Source settings (the non-secret `[[sources]]` keys) per configured source. */
  readonly sources: Partial<Record<SourceType, SourceSettings>>;
  /** Bedrock embedding model id. */
  readonly embeddingModelId: string;
  /** Vector size for models that offer several (default: the model's). */
  readonly embeddingDimensions?: number;
  /** Bedrock answer model id. */
  readonly answerModelId: string;
  /** API authorizer (default `iam`). */
  readonly apiAuth: ApiAuth;
  /** JWT issuer URL when `apiAuth` is `jwt`. */
  readonly jwtIssuer?: string;
  /** JWT audiences when `apiAuth` is `jwt`. */
  readonly jwtAudience?: string[];
  /** Steady-state requests per second the API stage admits. */
  readonly apiRateLimit: number;
  /** Burst of requests the API stage admits. */
  readonly apiBurstLimit: number;
  /** Direct S3 notifications (default) or through an SQS queue. */
  readonly processingTrigger: ProcessingTrigger;
  /** CloudWatch Logs retention of every function (default 30 days). */
  readonly logRetentionDays: number;
  /** IAM roles or users (ARNs) allowed to read the index, besides the API function. */
  readonly collectionReaderArns: string[];
  /** Standby replicas of the OpenSearch Serverless collection. */
  readonly collectionStandbyReplicas: 'ENABLED' | 'DISABLED';
  /** Folder holding `connector/`, `processing/`, `api/`, each with a `bootstrap`. */
  readonly lambdaAssetDir: string;
}

/** Defaults of the seed system (Titan embeddings, Claude 3 Haiku, 15 minutes). */
export const DEFAULTS = {
  namePrefix: 'vaultiq',
  syncRateMinutes: 15,
  embeddingModelId: 'amazon.titan-embed-text-v2:0',
  answerModelId: 'anthropic.claude-3-haiku-20240307-v1:0',
  apiAuth: 'iam' as ApiAuth,
  apiRateLimit: 50,
  apiBurstLimit: 100,
  processingTrigger: 's3' as ProcessingTrigger,
  logRetentionDays: 30,
  collectionStandbyReplicas: 'ENABLED' as const,
};

/** The retention periods CloudWatch Logs accepts, in days. */
const RETENTION_DAYS = [
  1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653,
];

/** Reads one context value (CDK's `node.tryGetContext`). */
export type ContextLookup = (key: string) => unknown;

/** A context key as users write it. */
export function contextKey(name: string): string {
  return `vaultiq:${name}`;
}

class SettingsError extends Error {
  constructor(key: string, expected: string, got: unknown) {
    super(`context \`${contextKey(key)}\` must be ${expected}, got ${JSON.stringify(got)}`);
    this.name = 'SettingsError';
  }
}

/**
 * Values from `-c key=value` arrive as strings, values from `cdk.json` as
 * JSON; both spellings are accepted for structured settings.
 */
function structured(key: string, value: unknown): unknown {
  if (typeof value !== 'string') {
    return value;
  }
  try {
    return JSON.parse(value);
  } catch {
    throw new SettingsError(key, 'JSON', value);
  }
}

function integer(key: string, value: unknown, min: number, max: number): number {
  const n = typeof value === 'string' && value.trim() !== '' ? Number(value) : value;
  if (typeof n !== 'number' || !Number.isInteger(n) || n < min || n > max) {
    throw new SettingsError(key, `a whole number in ${min}..${max}`, value);
  }
  return n;
}

function oneOf<T extends string>(key: string, value: unknown, allowed: readonly T[]): T {
  if (typeof value !== 'string' || !(allowed as readonly string[]).includes(value)) {
    throw new SettingsError(key, `one of ${allowed.join(', ')}`, value);
  }
  return value as T;
}

/** A Bedrock model id or cross-region inference profile id. */
function modelId(key: string, value: unknown): string {
  if (typeof value !== 'string' || !/^[a-z0-9-]+(\.[a-z0-9-]+)+(:[a-z0-9-]+)*(:\d+)?$/.test(value)) {
    throw new SettingsError(key, 'a Bedrock model id such as amazon.titan-embed-text-v2:0', value);
  }
  return value;
}

function httpsUrl(key: string, value: unknown): string {
  if (typeof value !== 'string' || !/^https:\/\/[^\s/]+/.test(value)) {
    throw new SettingsError(key, 'an https:// URL', value);
  }
  return value;
}

function stringList(key: string, value: unknown): string[] {
  const parsed = typeof value === 'string' && !value.trim().startsWith('[') ? value.split(',') : structured(key, value);
  if (!Array.isArray(parsed) || parsed.length === 0 || !parsed.every((s) => typeof s === 'string' && s.trim() !== '')) {
    throw new SettingsError(key, 'a non-empty list of strings', value);
  }
  return parsed.map((s: string) => s.trim());
}

function sourcesFrom(value: unknown): Partial<Record<SourceType, SourceSettings>> {
  const parsed = structured('sources', value);
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
    throw new SettingsError('sources', `an object keyed by source type (${SOURCE_TYPES.join(', ')})`, value);
  }
  const sources: Partial<Record<SourceType, SourceSettings>> = {};
  for (const [name, settings] of Object.entries(parsed)) {
    const type = oneOf('sources', name, SOURCE_TYPES);
    sources[type] = validateSourceSettings(`${contextKey('sources')}.${type}`, type, settings);
  }
  return sources;
}

/**
 * The settings from CDK context (`lookup`) and the environment (`env`, for
 * `VAULTIQ_LAMBDA_ASSET_DIR`); `deployDir` is the folder of this app, which
 * locates the default `../target/lambda`.
 */
export function settingsFromContext(
  lookup: ContextLookup,
  env: Record<string, string | undefined>,
  deployDir: string,
): VaultIqSettings {
  const get = (name: string): unknown => {
    const value = lookup(contextKey(name));
    return value === '' ? undefined : value;
  };
  const namePrefix = get('namePrefix') ?? DEFAULTS.namePrefix;
  // Collection and security policy names: 3..32 lowercase characters, and
  // the longest policy name adds `-access`.
  if (typeof namePrefix !== 'string' || !/^[a-z][a-z0-9-]{2,24}$/.test(namePrefix)) {
    throw new SettingsError(
      'namePrefix',
      '3..25 lowercase letters, digits or hyphens, starting with a letter',
      namePrefix,
    );
  }
  const apiAuth = oneOf('apiAuth', get('apiAuth') ?? DEFAULTS.apiAuth, ['iam', 'jwt', 'none'] as const);
  let jwtIssuer: string | undefined;
  let jwtAudience: string[] | undefined;
  if (apiAuth === 'jwt') {
    jwtIssuer = httpsUrl('jwtIssuer', get('jwtIssuer'));
    jwtAudience = stringList('jwtAudience', get('jwtAudience'));
  }
  const dimensions = get('embeddingDimensions');
  const assetDir = env.VAULTIQ_LAMBDA_ASSET_DIR || get('lambdaAssetDir');
  if (assetDir !== undefined && typeof assetDir !== 'string') {
    throw new SettingsError('lambdaAssetDir', 'a folder path', assetDir);
  }
  const settings: VaultIqSettings = {
    namePrefix,
    syncRateMinutes: integer('syncRateMinutes', get('syncRateMinutes') ?? DEFAULTS.syncRateMinutes, 1, 1440),
    sources: sourcesFrom(get('sources') ?? {}),
    embeddingModelId: modelId('embeddingModelId', get('embeddingModelId') ?? DEFAULTS.embeddingModelId),
    embeddingDimensions: dimensions === undefined ? undefined : integer('embeddingDimensions', dimensions, 1, 16000),
    answerModelId: modelId('answerModelId', get('answerModelId') ?? DEFAULTS.answerModelId),
    apiAuth,
    jwtIssuer,
    jwtAudience,
    apiRateLimit: integer('apiRateLimit', get('apiRateLimit') ?? DEFAULTS.apiRateLimit, 1, 10000),
    apiBurstLimit: integer('apiBurstLimit', get('apiBurstLimit') ?? DEFAULTS.apiBurstLimit, 1, 5000),
    processingTrigger: oneOf('processingTrigger', get('processingTrigger') ?? DEFAULTS.processingTrigger, [
      's3',
      'sqs',
    ] as const),
    logRetentionDays: retention(get('logRetentionDays') ?? DEFAULTS.logRetentionDays),
    collectionReaderArns: principalArns('collectionReaderArns', get('collectionReaderArns')),
    collectionStandbyReplicas: oneOf(
      'collectionStandbyReplicas',
      get('collectionStandbyReplicas') ?? DEFAULTS.collectionStandbyReplicas,
      ['ENABLED', 'DISABLED'] as const,
    ),
    lambdaAssetDir: path.resolve(deployDir, assetDir ?? path.join('..', 'target', 'lambda')),
  };
  checkLambdaAssets(settings.lambdaAssetDir);
  return settings;
}

/** IAM role or user ARNs (what a data-access policy can name), none by default. */
function principalArns(key: string, value: unknown): string[] {
  if (value === undefined) {
    return [];
  }
  const arns = stringList(key, value);
  for (const arn of arns) {
    if (!/^arn:aws[a-z-]*:iam::\d{12}:(role|user)\/[\w+=,.@/-]+$/.test(arn)) {
      throw new SettingsError(key, 'a list of IAM role or user ARNs', value);
    }
  }
  return arns;
}

function retention(value: unknown): number {
  const days = integer('logRetentionDays', value, 1, 3653);
  if (!RETENTION_DAYS.includes(days)) {
    throw new SettingsError('logRetentionDays', `one of ${RETENTION_DAYS.join(', ')}`, value);
  }
  return days;
}

/** The handler binaries the stack deploys, one folder each. */
export const LAMBDA_BINARIES = ['connector', 'processing', 'api'] as const;

/**
 * Fails early, with the command that fixes it, when a handler binary has
 * not been built, instead of deploying an empty function.
 */
export function checkLambdaAssets(dir: string): void {
  const missing = LAMBDA_BINARIES.filter((name) => !fs.existsSync(path.join(dir, name, 'bootstrap')));
  if (missing.length > 0) {
    throw new Error(
      `no Lambda handler binary ${missing.map((m) => `${m}/bootstrap`).join(', ')} under ${dir}: ` +
        'run scripts/build-lambdas first, or point context `vaultiq:lambdaAssetDir` ' +
        '(or VAULTIQ_LAMBDA_ASSET_DIR) at a folder holding connector/, processing/ and api/',
    );
  }
}
