/**
 * One VaultIQ handler binary as a Lambda function: its own role (no managed
 * policies; every grant is added by the stack), its own log group with a
 * retention, the `provided.al2023` runtime on x86_64.
 */
import * as path from 'node:path';

import { Duration, RemovalPolicy } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as logs from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';

/** Settings of one function. */
export interface RustFunctionProps {
  /** Function name (also names its log group). */
  readonly functionName: string;
  /** What the function does, for the console. */
  readonly description: string;
  /** Folder of the handler: holds the `bootstrap` executable. */
  readonly codeDir: string;
  /** Memory in MB. */
  readonly memorySize: number;
  /** Time budget of one invocation. */
  readonly timeout: Duration;
  /** `VAULTIQ_*` and other variables. */
  readonly environment: Record<string, string>;
  /** Days the log group keeps events. */
  readonly logRetentionDays: number;
  /** Layers (the function config). */
  readonly layers: lambda.ILayerVersion[];
  /** Retries of a failed asynchronous invocation (0..2). */
  readonly retryAttempts?: number;
  /** Where events that failed every retry go (asynchronous invocations). */
  readonly deadLetterQueue?: lambda.FunctionProps['deadLetterQueue'];
}

/** The function with its role and log group. */
export class RustFunction extends Construct {
  /** The function. */
  public readonly function: lambda.Function;
  /** Its execution role. */
  public readonly role: iam.Role;
  /** Its log group. */
  public readonly logGroup: logs.LogGroup;

  constructor(scope: Construct, id: string, props: RustFunctionProps) {
    super(scope, id);
    this.role = new iam.Role(this, 'Role', {
      assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com'),
      description: `Execution role of ${props.functionName}`,
    });
    // Created here rather than by Lambda on first write, so the retention
    // is set and the role needs no logs:CreateLogGroup on `*`.
    this.logGroup = new logs.LogGroup(this, 'Logs', {
      logGroupName: `/aws/lambda/${props.functionName}`,
      retention: props.logRetentionDays as logs.RetentionDays,
      removalPolicy: RemovalPolicy.DESTROY,
    });
    this.logGroup.grantWrite(this.role);
    this.function = new lambda.Function(this, 'Function', {
      functionName: props.functionName,
      description: props.description,
      runtime: lambda.Runtime.PROVIDED_AL2023,
      architecture: lambda.Architecture.X86_64,
      handler: 'bootstrap',
      code: lambda.Code.fromAsset(path.resolve(props.codeDir), { exclude: ['*.zip'] }),
      role: this.role,
      logGroup: this.logGroup,
      memorySize: props.memorySize,
      timeout: props.timeout,
      environment: { RUST_LOG: 'info', ...props.environment },
      layers: props.layers,
      retryAttempts: props.retryAttempts,
      deadLetterQueue: props.deadLetterQueue,
    });
  }
}
