/**
 * The stack configures Rust code it cannot call: these tests read
 * `vaultiq-core`'s sources and check that every `VAULTIQ_<SECTION>_<KEY>`
 * variable the functions get is one the core reads, and that the source
 * settings the app accepts are the ones the core accepts, so a rename on
 * either side fails here rather than in a deployed function.
 */
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { after, describe, it } from 'node:test';

import { SOURCE_TYPES, sourceSettingKeys } from '../lib/source-settings';
import { DEPLOY_DIR, cleanUp, resourcesOf, synth } from './synth-helpers';

after(cleanUp);

const CORE = path.join(DEPLOY_DIR, '..', 'vaultiq-core', 'src');

/** Variables the Lambda handlers read themselves, not the core's config. */
const HANDLER_VARIABLES = ['VAULTIQ_CONFIG', 'VAULTIQ_SOURCE'];

/** `("section", "key", Kind::...)` entries of `config/env.rs`, as variable names. */
function coreVariables(): Set<string> {
  const text = fs.readFileSync(path.join(CORE, 'config', 'env.rs'), 'utf8');
  const names = [...text.matchAll(/\("([a-z_]*)",\s*"([a-z_]+)",\s*Kind::\w+\)/g)].map(([, section, key]) =>
    section === '' ? `VAULTIQ_${key.toUpperCase()}` : `VAULTIQ_${section.toUpperCase()}_${key.toUpperCase()}`,
  );
  assert.ok(names.length > 10, 'config/env.rs lists its keys as ("section", "key", Kind::...)');
  return new Set(names);
}

/** The keys `connector/settings.rs` allows per source type. */
function coreSourceKeys(): Record<string, string[]> {
  const text = fs.readFileSync(path.join(CORE, 'connector', 'settings.rs'), 'utf8');
  const body = text.slice(text.indexOf('fn allowed_keys'), text.indexOf('/// Checks a remote source entry'));
  const keys: Record<string, string[]> = {};
  for (const [, type, list] of body.matchAll(/SourceType::(\w+) => &\[([^\]]*)\]/g)) {
    keys[type.toLowerCase()] = [...list.matchAll(/"([a-z_]+)"/g)].map(([, key]) => key);
  }
  return keys;
}

describe('the core contract', () => {
  it('sets only variables the core or the handlers read', () => {
    const known = coreVariables();
    const s = synth({ 'vaultiq:embeddingDimensions': 512 });
    const functions = resourcesOf(s, 'AWS::Lambda::Function').filter(
      ([, r]) => r.Properties?.Runtime === 'provided.al2023',
    );
    const used = new Set(
      functions
        .flatMap(([, r]) => Object.keys(r.Properties?.Environment?.Variables ?? {}))
        .filter((name) => name.startsWith('VAULTIQ_')),
    );
    assert.ok(used.size >= 12, `expected the stack's variables, found ${[...used]}`);
    for (const name of used) {
      assert.ok(known.has(name) || HANDLER_VARIABLES.includes(name), `${name} is not read by vaultiq-core`);
    }
  });

  it('accepts exactly the source settings the core accepts, besides credentials', () => {
    const core = coreSourceKeys();
    for (const type of SOURCE_TYPES) {
      assert.ok(core[type]?.includes('credentials'), `settings.rs lists the ${type} keys`);
      assert.deepEqual(
        sourceSettingKeys(type),
        core[type].filter((key) => key !== 'credentials').sort(),
        `${type} settings`,
      );
    }
  });
});
