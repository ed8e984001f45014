import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { configSchema, type ParleyConfig } from './schema';

export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`invalid configuration:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
    this.name = 'ConfigError';
  }
}

type Tree = Record<string, unknown>;
const ENV_PREFIX = 'PARLEY__';

function isTree(value: unknown): value is Tree {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Objects merge key by key; arrays and scalars replace. */
export function deepMerge(base: Tree, over: Tree): Tree {
  const out: Tree = { ...base };
  for (const [key, value] of Object.entries(over)) {
    const current = out[key];
    out[key] = isTree(current) && isTree(value) ? deepMerge(current, value) : value;
  }
  return out;
}

function readJsonFile(path: string): Tree {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    throw new ConfigError([`cannot read config file ${path}: ${(err as Error).message}`]);
  }
  try {
    const parsed: unknown = JSON.parse(text);
    if (!isTree(parsed)) throw new Error('top level must be an object');
    return parsed;
  } catch (err) {
    throw new ConfigError([`config file ${path} is not valid JSON: ${(err as Error).message}`]);
  }
}

function parseEnvValue(raw: string): unknown {
  try {
    return JSON.parse(raw);
  } catch {
    return raw;
  }
}

/** PARLEY__DATABASE__SQLITE__PATH=x becomes {database: {sqlite: {path: "x"}}}. */
export function envOverrides(env: NodeJS.ProcessEnv): Tree {
  let out: Tree = {};
  for (const [name, raw] of Object.entries(env)) {
    if (!name.startsWith(ENV_PREFIX) || raw === undefined) continue;
    const path = name.slice(ENV_PREFIX.length).toLowerCase().split('__').filter(Boolean);
    if (path.length === 0) continue;
    let leaf: unknown = parseEnvValue(raw);
    for (let i = path.length - 1; i >= 0; i--) leaf = { [path[i]]: leaf };
    out = deepMerge(out, leaf as Tree);
  }
  return out;
}

export interface LoadOptions {
  cwd?: string;
  env?: NodeJS.ProcessEnv;
  /** Applied after the environment: used by tests and the CLI. */
  overrides?: Tree;
}

export function loadConfig(options: LoadOptions = {}): ParleyConfig {
  const env = options.env ?? process.env;
  const cwd = options.cwd ?? process.cwd();
  let tree = readJsonFile(locateDefaults(cwd));
  const extra = env.PARLEY_CONFIG;
  if (extra) tree = deepMerge(tree, readJsonFile(resolve(cwd, extra)));
  tree = deepMerge(tree, envOverrides(env));
  if (options.overrides) tree = deepMerge(tree, options.overrides);
  return validateConfig(tree);
}

export function validateConfig(tree: unknown): ParleyConfig {
  const result = configSchema.safeParse(tree);
  if (result.success) return result.data;
  const problems = result.error.issues.flatMap((issue) => {
    const at = issue.path.map(String).join('.');
    if (issue.code === 'unrecognized_keys') {
      return issue.keys.map((key) => `${at ? `${at}.` : ''}${key}: unknown key`);
    }
    const missing = issue.code === 'invalid_type' && issue.message.includes('received undefined');
    return [`${at || '(root)'}: ${missing ? 'missing required value' : issue.message}`];
  });
  throw new ConfigError(problems);
}

function locateDefaults(cwd: string): string {
  // The project root holds config/; compiled code runs from dist/, sources from libs/.
  const candidates = [
    resolve(__dirname, '../../../config/default.json'),
    resolve(__dirname, '../../../../config/default.json'),
    resolve(cwd, 'config/default.json'),
  ];
  for (const candidate of candidates) {
    try {
      readFileSync(candidate);
      return candidate;
    } catch {
      // try the next location
    }
  }
  throw new ConfigError([`config/default.json not found (looked in ${candidates.join(', ')})`]);
}
