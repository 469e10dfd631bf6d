// Structural validation: run the JSON Schema with ajv and turn its errors into short,
// path-addressed messages a film-ops person can act on.
import type { ErrorObject } from 'ajv';
import { fromJsonPointer, type RawIssue } from './path';
import { validator } from './structure.validator';

/** Every structural problem in `value`, in document order; [] when it matches the schema. */
export function checkStructure(value: unknown): RawIssue[] {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    return [{ at: [], message: `the workflow must be a mapping of fields (apiVersion, kind, metadata, ...), got ${describe(value)}` }];
  }
  const validate = validator();
  if (validate(value)) return [];
  return (validate.errors ?? []).map((error) => toIssue(error, value));
}

const TYPE_WORDS: Record<string, string> = {
  object: 'a mapping',
  array: 'a list',
  string: 'a string',
  number: 'a number',
  integer: 'an integer',
  boolean: 'true or false',
};

function describe(value: unknown): string {
  if (value === null || value === undefined) return 'nothing';
  if (Array.isArray(value)) return 'a list';
  if (typeof value === 'object') return 'a mapping';
  if (typeof value === 'string') return JSON.stringify(value);
  return String(value);
}

function toIssue(error: ErrorObject, root: unknown): RawIssue {
  const at = fromJsonPointer(error.instancePath, root);
  const params = error.params as Record<string, unknown>;
  const hint = (error.parentSchema as { hint?: string } | undefined)?.hint;
  const got = describe(error.data);
  switch (error.keyword) {
    case 'required':
      return { at: [...at, String(params.missingProperty)], message: `missing required field "${params.missingProperty}"` };
    case 'additionalProperties': {
      const allowed = Object.keys((error.parentSchema as { properties?: object }).properties ?? {});
      return {
        at: [...at, String(params.additionalProperty)],
        atKey: true,
        message: `unknown field "${params.additionalProperty}" (allowed: ${allowed.join(', ')})`,
      };
    }
    case 'type':
      return { at, message: `must be ${TYPE_WORDS[String(params.type)] ?? params.type} (got ${got})` };
    case 'const':
      return { at, message: `must be ${JSON.stringify(params.allowedValue)} (got ${got})` };
    case 'enum':
      return { at, message: `${got} is not ${hint ?? 'allowed'} (known: ${(params.allowedValues as unknown[]).join(', ')})` };
    case 'pattern':
      return { at, message: `${got} is not ${hint ?? `matching ${params.pattern}`}` };
    case 'minLength':
      return { at, message: params.limit === 1 ? 'must not be empty' : `must be at least ${params.limit} characters` };
    case 'maxLength':
      return { at, message: `must be at most ${params.limit} characters` };
    case 'minimum':
    case 'maximum':
    case 'exclusiveMinimum':
    case 'exclusiveMaximum':
      return { at, message: `must be ${params.comparison} ${params.limit} (got ${got})` };
    case 'multipleOf':
      return { at, message: `must be a multiple of ${params.multipleOf} (got ${got})` };
    case 'maxItems':
      return { at, message: `must list at most ${params.limit} items` };
    case 'minItems':
      return { at, message: `must list at least ${params.limit} item${params.limit === 1 ? '' : 's'}` };
    default:
      return { at, message: error.message ?? `fails ${error.keyword}` };
  }
}
