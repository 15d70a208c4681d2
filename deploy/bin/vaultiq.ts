#!/usr/bin/env node
/**
 * The CDK app: one `VaultIQ` stack in the account and region of the AWS
 * CLI profile (`CDK_DEFAULT_ACCOUNT`/`CDK_DEFAULT_REGION`). Settings come
 * from context (`cdk.json` or `-c vaultiq:KEY=VALUE`), see lib/settings.ts.
 */
import * as path from 'node:path';

import { App } from 'aws-cdk-lib';

import { settingsFromContext } from '../lib/settings';
import { VaultIqStack } from '../lib/vaultiq-stack';

// Compiled to dist/bin/, so the app's folder is two levels up.
const deployDir = path.resolve(__dirname, '..', '..');

const app = new App();
const settings = settingsFromContext((key) => app.node.tryGetContext(key), process.env, deployDir);
new VaultIqStack(app, 'VaultIQ', {
  description: 'VaultIQ: RAG knowledge engine (lake, state, vectors, connectors, processing, API)',
  env: { account: process.env.CDK_DEFAULT_ACCOUNT, region: process.env.CDK_DEFAULT_REGION },
  settings,
});
