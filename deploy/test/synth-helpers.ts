/**
 * Synthesises the stack in-process for the template tests, with the
 * context of `cdk.json` (so the feature flags match `cdk synth`) plus
 * per-test overrides, and placeholder handler binaries (the tests do not
 * need the Rust build).
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

import { App } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';

import { LAMBDA_BINARIES, settingsFromContext } from '../lib/settings';
import { VaultIqStack } from '../lib/vaultiq-stack';

/** The app folder (tests run from dist/test/). */
export const DEPLOY_DIR = path.resolve(__dirname, '..', '..');

/** A folder shaped like `target/lambda/` with non-functional `bootstrap` files. */
export function placeholderAssets(): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'vaultiq-lambda-'));
  for (const name of LAMBDA_BINARIES) {
    fs.mkdirSync(path.join(dir, name));
    fs.writeFileSync(path.join(dir, name, 'bootstrap'), `#!/bin/sh\necho placeholder ${name} >&2\nexit 1\n`, {
      mode: 0o755,
    });
  }
  return dir;
}

function cdkJsonContext(): Record<string, unknown> {
  const cdkJson = JSON.parse(fs.readFileSync(path.join(DEPLOY_DIR, 'cdk.json'), 'utf8'));
  return cdkJson.context ?? {};
}

/** One synthesised stack. */
export interface Synth {
  readonly stack: VaultIqStack;
  readonly template: Template;
  /** The raw template. */
  readonly json: { Resources: Record<string, Resource>; Outputs: Record<string, unknown> };
  /** The cloud assembly folder (holds the function config files). */
  readonly outdir: string;
}

/** A template resource. */
export interface Resource {
  Type: string;
  Properties?: Record<string, any>;
  DependsOn?: string[] | string;
}

const assets = placeholderAssets();
const outdirs: string[] = [assets];

/** Removes the folders the syntheses wrote. */
export function cleanUp(): void {
  for (const dir of outdirs.splice(0)) {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

/**
 * Synthesises with `overrides` on top of cdk.json's context; `env` stands
 * in for the process environment (by default it points the handler
 * binaries at the placeholders).
 */
export function synth(
  overrides: Record<string, unknown> = {},
  env: Record<string, string | undefined> = { VAULTIQ_LAMBDA_ASSET_DIR: assets },
): Synth {
  const outdir = fs.mkdtempSync(path.join(os.tmpdir(), 'vaultiq-cdk-out-'));
  outdirs.push(outdir);
  const app = new App({ context: { ...cdkJsonContext(), ...overrides }, outdir });
  const settings = settingsFromContext((key) => app.node.tryGetContext(key), env, DEPLOY_DIR);
  const stack = new VaultIqStack(app, 'VaultIQ', {
    env: { account: '123456789012', region: 'us-east-1' },
    settings,
  });
  const template = Template.fromStack(stack);
  return { stack, template, json: template.toJSON() as Synth['json'], outdir };
}

/** Resources of one type, by logical id. */
export function resourcesOf(s: Synth, type: string): [string, Resource][] {
  return Object.entries(s.json.Resources).filter(([, r]) => r.Type === type);
}

/** The logical id of a construct's CloudFormation resource. */
export function logicalId(s: Synth, construct: { node: { defaultChild?: unknown } } | unknown): string {
  const resource = (construct as any).node?.defaultChild ?? construct;
  return s.stack.getLogicalId(resource as any);
}

/**
 * Turns an intrinsic string (`Fn::Join` of literals, `Ref`, `Fn::GetAtt`)
 * into text with `<Id>` / `<Id.Attr>` placeholders, so a policy document
 * CloudFormation assembles can be parsed and inspected.
 */
export function flatten(value: unknown): string {
  if (typeof value === 'string') {
    return value;
  }
  if (value && typeof value === 'object') {
    const v = value as Record<string, any>;
    if ('Fn::Join' in v) {
      const [sep, parts] = v['Fn::Join'];
      return (parts as unknown[]).map(flatten).join(sep);
    }
    if ('Ref' in v) {
      return `<${v.Ref}>`;
    }
    if ('Fn::GetAtt' in v) {
      return `<${v['Fn::GetAtt'].join('.')}>`;
    }
  }
  throw new Error(`cannot flatten ${JSON.stringify(value)}`);
}
