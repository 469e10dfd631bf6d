import { KmsError } from './errors';

/** Operations a key policy can grant. Non-key operations (ListKeys, ListAliases) are not listed. */
export const KEY_ACTIONS = [
  'DescribeKey',
  'CreateAlias',
  'Encrypt',
  'Decrypt',
  'GenerateDataKey',
  'GenerateDataKeyWithoutPlaintext',
  'EnableKey',
  'DisableKey',
] as const;
export type KeyAction = (typeof KEY_ACTIONS)[number];

/**
 * One rule of a key policy. Everything listed must hold for the rule to apply:
 * the caller's principal, the operation, and every encryption-context condition.
 * Values in conditions may use `${principal}` (e.g. `agent/vfx-2`) and `${agent}` (`vfx-2`).
 */
export interface PolicyStatement {
  sid?: string;
  /** Default Allow. An applicable Deny always wins. */
  effect?: 'Allow' | 'Deny';
  /** Exact principals, `*` for any caller, or a prefix glob such as `agent/*`. */
  principals: string[];
  /** Operation names, `*`, or a prefix glob such as `GenerateDataKey*`. */
  actions: string[];
  /** Context key -> required value. */
  contextEquals?: Record<string, string>;
  /** Context key -> value that must appear in the key's comma-separated list. */
  contextListContains?: Record<string, string>;
}

export interface KeyPolicy {
  version: 1;
  statements: PolicyStatement[];
}

export interface Caller {
  principal: string;
}

export type EncryptionContext = Record<string, string>;

const VARIABLE = /\$\{([^}]*)\}/g;
const KNOWN_VARIABLES = new Set(['principal', 'agent']);
const AGENT_PREFIX = 'agent/';

/** The agent name of a principal (`agent/vfx-2` -> `vfx-2`); undefined for non-agent principals. */
export function agentOf(principal: string): string | undefined {
  return principal.startsWith(AGENT_PREFIX) ? principal.slice(AGENT_PREFIX.length) : undefined;
}

/** Deny by default: allowed only if some Allow statement applies and no Deny statement does. */
export function isAllowed(policy: KeyPolicy, caller: Caller, action: KeyAction, context: EncryptionContext = {}): boolean {
  let allowed = false;
  for (const statement of policy.statements) {
    if (!applies(statement, caller, action, context)) continue;
    if ((statement.effect ?? 'Allow') === 'Deny') return false;
    allowed = true;
  }
  return allowed;
}

/** Whether the policy mentions the caller in any Allow statement (used to scope listings). */
export function mentions(policy: KeyPolicy, caller: Caller): boolean {
  return policy.statements.some(
    (s) => (s.effect ?? 'Allow') === 'Allow' && s.principals.some((p) => globMatch(p, caller.principal)),
  );
}

function applies(statement: PolicyStatement, caller: Caller, action: KeyAction, context: EncryptionContext): boolean {
  if (!statement.principals.some((p) => globMatch(p, caller.principal))) return false;
  if (!statement.actions.some((a) => globMatch(a, action))) return false;
  for (const [key, template] of Object.entries(statement.contextEquals ?? {})) {
    const expected = substitute(template, caller);
    if (expected === undefined || !Object.hasOwn(context, key) || context[key] !== expected) return false;
  }
  for (const [key, template] of Object.entries(statement.contextListContains ?? {})) {
    const expected = substitute(template, caller);
    if (expected === undefined || !Object.hasOwn(context, key)) return false;
    if (!context[key].split(',').some((item) => item.trim() === expected)) return false;
  }
  return true;
}

/** Undefined when a variable has no value for this caller, so the condition fails closed. */
function substitute(template: string, caller: Caller): string | undefined {
  let missing = false;
  const value = template.replace(VARIABLE, (_m, name: string) => {
    const v = name === 'principal' ? caller.principal : name === 'agent' ? agentOf(caller.principal) : undefined;
    if (v === undefined) missing = true;
    return v ?? '';
  });
  return missing ? undefined : value;
}

function globMatch(pattern: string, value: string): boolean {
  if (pattern === '*') return true;
  if (pattern.endsWith('*')) return value.startsWith(pattern.slice(0, -1));
  return pattern === value;
}

/** Validates untrusted policy JSON; throws MalformedPolicyDocumentException with the reason. */
export function parseKeyPolicy(input: unknown): KeyPolicy {
  const fail = (why: string): never => {
    throw new KmsError('MalformedPolicyDocumentException', `Invalid key policy: ${why}`);
  };
  if (!isRecord(input)) return fail('must be an object');
  if (input.version !== 1) fail('version must be 1');
  if (!Array.isArray(input.statements) || input.statements.length === 0) fail('statements must be a non-empty array');
  const statements = (input.statements as unknown[]).map((raw, i): PolicyStatement => {
    const at = `statements[${i}]`;
    if (!isRecord(raw)) return fail(`${at} must be an object`);
    const allowedKeys = ['sid', 'effect', 'principals', 'actions', 'contextEquals', 'contextListContains'];
    const unknown = Object.keys(raw).filter((k) => !allowedKeys.includes(k));
    if (unknown.length > 0) fail(`${at} has unknown field(s) ${unknown.join(', ')}`);
    if (raw.sid !== undefined && typeof raw.sid !== 'string') fail(`${at}.sid must be a string`);
    if (raw.effect !== undefined && raw.effect !== 'Allow' && raw.effect !== 'Deny') {
      fail(`${at}.effect must be Allow or Deny`);
    }
    const principals = stringList(raw.principals, `${at}.principals`, fail);
    const actions = stringList(raw.actions, `${at}.actions`, fail);
    for (const action of actions) {
      if (!KEY_ACTIONS.some((known) => globMatch(action, known))) fail(`${at}: unknown action ${action}`);
    }
    const statement: PolicyStatement = { principals, actions };
    if (raw.sid !== undefined) statement.sid = raw.sid as string;
    if (raw.effect !== undefined) statement.effect = raw.effect as 'Allow' | 'Deny';
    for (const field of ['contextEquals', 'contextListContains'] as const) {
      if (raw[field] === undefined) continue;
      statement[field] = stringMap(raw[field], `${at}.${field}`, fail);
    }
    return statement;
  });
  return { version: 1, statements };
}

function stringList(value: unknown, at: string, fail: (why: string) => never): string[] {
  if (!Array.isArray(value) || value.length === 0 || !value.every((v) => typeof v === 'string' && v !== '')) {
    return fail(`${at} must be a non-empty array of strings`);
  }
  return [...value] as string[];
}

function stringMap(value: unknown, at: string, fail: (why: string) => never): Record<string, string> {
  if (!isRecord(value)) return fail(`${at} must be an object`);
  for (const [key, v] of Object.entries(value)) {
    if (typeof v !== 'string') fail(`${at}.${key} must be a string`);
    for (const [, name] of (v as string).matchAll(VARIABLE)) {
      if (!KNOWN_VARIABLES.has(name)) fail(`${at}.${key} uses unknown variable \${${name}}`);
    }
  }
  // fromEntries defines own properties, so a key named __proto__ stays data.
  return Object.fromEntries(Object.entries(value)) as Record<string, string>;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
