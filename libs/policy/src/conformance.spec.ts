// The TypeScript engine against real OPA: every answer OPA 1.9.0 gave for data.reelmesh.authz.decision
// (recorded in conformance/opa-1.9.0-decisions.json, see conformance/README.md) must be the engine's
// answer too, `allowed` and `reason` both, evaluated against the data document OPA evaluated against.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { evaluate } from './evaluate';
import { loadPolicyData, REPO_ROOT } from './files';
import { DECISION_REASONS, type Decision } from './types';

const CONFORMANCE_DIR = join(REPO_ROOT, 'libs/policy/src/conformance');
const RECORD_COUNT = 747;

interface OpaRecord {
  readonly name: string;
  /** Absent when the request carried no input at all. */
  readonly input?: unknown;
  readonly opa: Decision;
}

interface OpaRecording {
  readonly opaVersion: string;
  readonly query: string;
  readonly policy: string;
  readonly records: readonly OpaRecord[];
}

const recording = JSON.parse(readFileSync(join(CONFORMANCE_DIR, 'opa-1.9.0-decisions.json'), 'utf8')) as OpaRecording;
const data = loadPolicyData(join(CONFORMANCE_DIR, 'data.json'));
const records = recording.records;

/** The request's input as OPA saw it: a record without `input` had none (undefined, not null). */
const inputOf = (record: OpaRecord): unknown => (Object.hasOwn(record, 'input') ? record.input : undefined);

describe('engine against real OPA 1.9.0 decisions', () => {
  it('reads the whole recording', () => {
    expect(recording.opaVersion).toBe('1.9.0');
    expect(recording.query).toBe('data.reelmesh.authz.decision');
    expect(Array.isArray(records)).toBe(true);
    expect(records).toHaveLength(RECORD_COUNT);
    for (const [index, record] of records.entries()) {
      expect(typeof record.name, `record #${index}`).toBe('string');
      expect(typeof record.opa?.allowed, `record #${index} ${record.name}`).toBe('boolean');
      expect(DECISION_REASONS, `record #${index} ${record.name}`).toContain(record.opa.reason);
    }
  });

  it('covers every reason, a request without input and one with input null', () => {
    expect(new Set(records.map((record) => record.opa.reason))).toEqual(new Set(DECISION_REASONS));
    expect(records.some((record) => !Object.hasOwn(record, 'input'))).toBe(true);
    expect(records.some((record) => Object.hasOwn(record, 'input') && record.input === null)).toBe(true);
  });

  it('gives OPA’s allowed and reason on every record', () => {
    const mismatches: string[] = [];
    for (const [index, record] of records.entries()) {
      const engine = evaluate(inputOf(record), data);
      if (engine.allowed !== record.opa.allowed || engine.reason !== record.opa.reason) {
        mismatches.push(`#${index} ${record.name}: OPA ${JSON.stringify(record.opa)}, engine ${JSON.stringify(engine)}`);
      }
    }
    expect(mismatches, `${mismatches.length} of ${records.length} records differ from OPA`).toEqual([]);
  });
});
