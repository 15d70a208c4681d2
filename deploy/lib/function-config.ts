/**
 * The `vaultiq.toml` files the functions read (`VAULTIQ_CONFIG`), shipped
 * in one Lambda layer under `/opt/vaultiq/`. Only what environment
 * variables cannot express lives here: a connector's `[[sources]]` entry
 * and the store's SigV4 mode. Everything else (bucket, table, endpoint,
 * models) is a `VAULTIQ_<SECTION>_<KEY>` variable, visible in the console,
 * and wins over the file.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';

import * as lambda from 'aws-cdk-lib/aws-lambda';
import { Construct } from 'constructs';

import { SettingValue, SourceSettings, SourceType, secretName } from './source-settings';

/** Where a layer's files appear in the function's filesystem. */
const LAYER_ROOT = '/opt';
/** The folder of the config files inside the layer. */
const CONFIG_FOLDER = 'vaultiq';

/** A TOML value; JSON's string escapes are valid TOML basic-string escapes. */
function tomlValue(value: SettingValue): string {
  if (Array.isArray(value)) {
    return `[${value.map((v) => JSON.stringify(v)).join(', ')}]`;
  }
  return typeof value === 'string' ? JSON.stringify(value) : String(value);
}

const HEADER = '# Written by the VaultIQ CDK app (deploy/); redeploy to change it.\n';

/** A connector's config: its one source, with the credentials from its secret. */
export function connectorConfig(source: SourceType, settings: SourceSettings): string {
  const lines = [
    HEADER,
    '[[sources]]',
    `type = ${tomlValue(source)}`,
    `name = ${tomlValue(source)}`,
    ...Object.entries(settings).map(([key, value]) => `${key} = ${tomlValue(value)}`),
    `credentials = { secret = ${tomlValue(secretName(source))} }`,
  ];
  return `${lines.join('\n')}\n`;
}

/**
 * The config of a connector whose source has no settings yet: no source, so
 * a manual invoke fails with the handler's "no source named ..." error
 * while the schedule stays disabled.
 */
export function unconfiguredConnectorConfig(source: SourceType): string {
  return (
    `${HEADER}# The ${source} source is not configured: set context ` +
    `\`vaultiq:sources\` -> "${source}" and redeploy.\n`
  );
}

/** The config of the functions that use the vector store: SigV4 for Serverless. */
export function storeConfig(): string {
  return `${HEADER}\n[store]\nauth = "aoss"\n`;
}

/** The config files, by file name (without folder). */
export type ConfigFiles = Record<string, string>;

/** One layer holding every function's config file. */
export class FunctionConfigLayer extends Construct {
  /** The layer to attach. */
  public readonly layer: lambda.LayerVersion;
  private readonly files: ConfigFiles;

  /** `outDir` is a folder the layer's files are written to before packaging. */
  constructor(scope: Construct, id: string, files: ConfigFiles, outDir: string) {
    super(scope, id);
    this.files = files;
    const root = path.join(outDir, CONFIG_FOLDER);
    fs.rmSync(outDir, { recursive: true, force: true });
    fs.mkdirSync(root, { recursive: true });
    for (const [name, text] of Object.entries(files)) {
      fs.writeFileSync(path.join(root, name), text);
    }
    this.layer = new lambda.LayerVersion(this, 'Layer', {
      code: lambda.Code.fromAsset(outDir),
      compatibleRuntimes: [lambda.Runtime.PROVIDED_AL2023],
      compatibleArchitectures: [lambda.Architecture.X86_64],
      description: 'VaultIQ function config files (vaultiq.toml per function)',
    });
  }

  /** The `VAULTIQ_CONFIG` path of one of the files. */
  public pathOf(name: string): string {
    if (this.files[name] === undefined) {
      throw new Error(`no function config file ${name} in the layer`);
    }
    return `${LAYER_ROOT}/${CONFIG_FOLDER}/${name}`;
  }
}
