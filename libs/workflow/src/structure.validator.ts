// The workflow schema's validator (a *.validator.ts file: the bundles hold it precompiled by ajv,
// libs/deploy/src/bundle.ts, so a starting process neither carries ajv's compiler nor spends a
// tenth of its start-up CPU compiling the schema; from source, ajv compiles it at first use).
import { Ajv, type Options, type ValidateFunction } from 'ajv';
import { WORKFLOW_SCHEMA } from './schema';

export const schema = WORKFLOW_SCHEMA;

// verbose: keeps the failing value and schema on each error, so messages can quote them.
// `hint` is our own annotation (the wording of a failed pattern or enum), not a check.
export const ajvOptions: Options = { allErrors: true, strict: true, verbose: true, keywords: ['hint'] };

let compiled: ValidateFunction | undefined;

export function validator(): ValidateFunction {
  return (compiled ??= new Ajv(ajvOptions).compile(schema));
}
