/**
 * One connector function per source, each on its own EventBridge schedule.
 * A run syncs its source into the lake (raw JSON under `raw/{source}/`) and
 * commits the checkpoint; the lake's S3 events drive the indexing.
 */
import * as path from 'node:path';

import { Duration } from 'aws-cdk-lib';
import * as events from 'aws-cdk-lib/aws-events';
import * as targets from 'aws-cdk-lib/aws-events-targets';
import { Construct } from 'constructs';

import { FunctionConfigLayer } from './function-config';
import { LakeBucket } from './lake-bucket';
import { RustFunction } from './rust-function';
import { SOURCE_TYPES, SourceType } from './source-settings';
import { SourceSecrets } from './source-secrets';
import { StateTable } from './state-table';

/** What the connectors need. */
export interface ConnectorsProps {
  readonly namePrefix: string;
  readonly syncRateMinutes: number;
  /** Sources with settings; the others get a disabled schedule. */
  readonly configured: ReadonlySet<SourceType>;
  readonly lambdaAssetDir: string;
  readonly logRetentionDays: number;
  readonly config: FunctionConfigLayer;
  readonly lake: LakeBucket;
  readonly state: StateTable;
  readonly secrets: SourceSecrets;
  /** `VAULTIQ_*` variables of the connectors (lake, state, embedder kind). */
  readonly environment: Record<string, string>;
}

/** The config file name of a connector in the config layer. */
export function connectorConfigFile(source: SourceType): string {
  return `connector-${source}.toml`;
}

/**
 * A run must end before the next one starts, so two runs of one source
 * never overlap: one minute less than the schedule, within Lambda's 15.
 */
export function connectorTimeout(syncRateMinutes: number): Duration {
  return Duration.seconds(Math.min(900, Math.max(60, syncRateMinutes * 60 - 60)));
}

/** The four connector functions and their schedules. */
export class Connectors extends Construct {
  /** The function of each source. */
  public readonly functions: Record<SourceType, RustFunction>;
  /** The schedule of each source. */
  public readonly rules: Record<SourceType, events.Rule>;

  constructor(scope: Construct, id: string, props: ConnectorsProps) {
    super(scope, id);
    const functions: Partial<Record<SourceType, RustFunction>> = {};
    const rules: Partial<Record<SourceType, events.Rule>> = {};
    for (const source of SOURCE_TYPES) {
      const fn = new RustFunction(this, source, {
        functionName: `${props.namePrefix}-${source}-connector`,
        description: `VaultIQ ${source} connector: syncs the source into the S3 lake`,
        codeDir: path.join(props.lambdaAssetDir, 'connector'),
        memorySize: 512,
        timeout: connectorTimeout(props.syncRateMinutes),
        environment: {
          ...props.environment,
          VAULTIQ_SOURCE: source,
          VAULTIQ_CONFIG: props.config.pathOf(connectorConfigFile(source)),
        },
        logRetentionDays: props.logRetentionDays,
        layers: [props.config.layer],
        // A failed run is retried by the next scheduled one, which resumes
        // from the last checkpoint; an immediate retry could overlap it.
        retryAttempts: 0,
      });
      props.lake.grantRecords(fn.role, { source, write: true });
      props.state.grantState(fn.role);
      props.secrets.grantRead(fn.role, source);
      const rule = new events.Rule(this, `${source}Schedule`, {
        description: `Sync the ${source} source every ${props.syncRateMinutes} minutes`,
        schedule: events.Schedule.rate(Duration.minutes(props.syncRateMinutes)),
        enabled: props.configured.has(source),
      });
      // The scheduled event itself (no fixed input): the handler takes the
      // source from VAULTIQ_SOURCE. Delivery (not the run) is retried twice
      // when Lambda throttles.
      rule.addTarget(new targets.LambdaFunction(fn.function, { retryAttempts: 2 }));
      functions[source] = fn;
      rules[source] = rule;
    }
    this.functions = functions as Record<SourceType, RustFunction>;
    this.rules = rules as Record<SourceType, events.Rule>;
  }
}
