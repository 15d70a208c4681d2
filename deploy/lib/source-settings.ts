/**
 * The non-secret settings of each connector's `[[sources]]` entry, checked
 * at synth with the rules `vaultiq-core` applies at start-up
 * (`connector/settings.rs`), so a typo fails `cdk synth` instead of every
 * scheduled run. Credentials are not a setting here: each connector reads
 * its one Secrets Manager secret.
 */

/** The four sources of the seed, one connector function each. */
export const SOURCE_TYPES = ['confluence', 'slack', 'jira', 'github'] as const;

/** One of [`SOURCE_TYPES`]. */
export type SourceType = (typeof SOURCE_TYPES)[number];

/** A setting's value as TOML can hold it. */
export type SettingValue = string | number | boolean | string[];

/** Checked settings of one source, keyed as in `vaultiq.toml`. */
export type SourceSettings = Readonly<Record<string, SettingValue>>;

type Kind = 'url' | 'strings' | 'bool' | 'days' | 'deployment' | 'text' | 'include';

/** Keys each source type takes besides `type`, `name` and `credentials`. */
const KEYS: Record<SourceType, Record<string, Kind>> = {
  confluence: { base_url: 'url', spaces: 'strings', include_blogposts: 'bool', deployment: 'deployment' },
  slack: { base_url: 'url', channels: 'strings', lookback_days: 'days' },
  jira: { base_url: 'url', projects: 'strings', jql: 'text', deployment: 'deployment' },
  github: { base_url: 'url', repos: 'strings', include: 'include', docs_paths: 'strings' },
};

/** The settings a source type takes (sorted). */
export function sourceSettingKeys(type: SourceType): string[] {
  return Object.keys(KEYS[type]).sort();
}

/** The Secrets Manager secret each connector reads (names of the seed). */
export function secretName(source: SourceType): string {
  return `vaultiq/${source}`;
}

function fail(key: string, expected: string, got: unknown): never {
  throw new Error(`context \`${key}\` must be ${expected}, got ${JSON.stringify(got)}`);
}

function checkValue(key: string, kind: Kind, value: unknown): SettingValue {
  switch (kind) {
    case 'url':
      if (typeof value !== 'string' || !/^https?:\/\/[^\s/]+/.test(value)) {
        fail(key, 'an http(s) URL', value);
      }
      return value.replace(/\/+$/, '');
    case 'strings':
      if (!Array.isArray(value) || !value.every((s) => typeof s === 'string' && s.trim() !== '')) {
        fail(key, 'a list of non-empty strings', value);
      }
      return value.map((s: string) => s.trim());
    case 'bool':
      if (typeof value !== 'boolean') {
        fail(key, 'true or false', value);
      }
      return value;
    case 'days':
      if (typeof value !== 'number' || !Number.isInteger(value) || value < 1) {
        fail(key, 'a whole number of days, at least 1', value);
      }
      return value;
    case 'deployment':
      if (value !== 'cloud' && value !== 'datacenter') {
        fail(key, '"cloud" or "datacenter"', value);
      }
      return value;
    case 'text':
      if (typeof value !== 'string' || value.trim() === '') {
        fail(key, 'a non-empty string', value);
      }
      return value;
    case 'include':
      if (
        !Array.isArray(value) ||
        value.length === 0 ||
        !value.every((s) => s === 'issues' || s === 'pulls' || s === 'docs')
      ) {
        fail(key, 'a non-empty list of issues, pulls, docs', value);
      }
      return value as string[];
  }
}

/**
 * Checks one source's settings; `key` names them in errors (e.g.
 * `vaultiq:sources.jira`). Returns them with keys sorted, so the generated
 * file (and the asset hash) does not depend on the order they were written.
 */
export function validateSourceSettings(key: string, type: SourceType, settings: unknown): SourceSettings {
  if (typeof settings !== 'object' || settings === null || Array.isArray(settings)) {
    fail(key, 'an object of source settings', settings);
  }
  const allowed = KEYS[type];
  const checked: Record<string, SettingValue> = {};
  for (const name of Object.keys(settings).sort()) {
    if (name === 'credentials') {
      throw new Error(
        `context \`${key}.credentials\` is not a setting here: the ${type} connector reads the secret ${secretName(type)}`,
      );
    }
    const kind = allowed[name];
    if (kind === undefined) {
      throw new Error(
        `context \`${key}.${name}\` is not a setting of a ${type} source (expected ${Object.keys(allowed).join(', ')})`,
      );
    }
    checked[name] = checkValue(`${key}.${name}`, kind, (settings as Record<string, unknown>)[name]);
  }
  const has = (name: string): boolean => checked[name] !== undefined;
  const nonEmpty = (name: string): boolean => Array.isArray(checked[name]) && (checked[name] as string[]).length > 0;
  if ((type === 'confluence' || type === 'jira') && !has('base_url')) {
    fail(`${key}.base_url`, 'set to the site URL, e.g. https://acme.atlassian.net', undefined);
  }
  if (type === 'jira' && !nonEmpty('projects') && !has('jql')) {
    fail(`${key}.projects`, 'a non-empty list of project keys (or set `jql`)', checked.projects);
  }
  if (type === 'github' && !nonEmpty('repos')) {
    fail(`${key}.repos`, 'a non-empty list of `owner/name`', checked.repos);
  }
  if (
    type === 'github' &&
    nonEmpty('repos') &&
    !(checked.repos as string[]).every((r) => /^[^/\s]+\/[^/\s]+$/.test(r))
  ) {
    fail(`${key}.repos`, 'a list of `owner/name`', checked.repos);
  }
  return checked;
}
