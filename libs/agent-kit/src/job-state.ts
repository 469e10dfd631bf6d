import { padChunkIndex } from '@reelmesh/handoff';
import { readJsonObject, writeJsonObject, type ProvenanceRecord } from '@reelmesh/provenance';
import { safeKey, type ObjectContext, type ObjectStore } from '@reelmesh/storage';
import { isOutage } from './outage';

// What an agent remembers about its own jobs, in its own (sealed) volume, so a restarted process
// takes up exactly where the last one stopped (docs/crash-recovery.md):
//   job-state/<workflow>/<step>/<00042>.outputs.json  the job's committed outputs and their signed
//                                                     chains, written BEFORE the first byte is handed on
//   job-state/<workflow>/<step>/<00042>.sent.json     every next hop acknowledged them (stored or duplicate)
// So bytes that may have left the agent are never made again, only re-sent (receivers answer a
// re-send `duplicate`); a job without an outputs record handed nothing on and simply runs again.

/** One committed output of a step's job for one chunk. */
export interface StoredOutput {
  key: string;
  sha256: string;
  byteLength: number;
  /** The chain handed over with it (absent with provenance off). */
  records?: ProvenanceRecord[];
}

export interface OutputsRecord {
  version: 1;
  step: string;
  chunkIndex: number;
  chunkCount: number;
  /** By artifact. */
  outputs: Record<string, StoredOutput>;
  committedAt: string;
}

export interface SentRecord {
  version: 1;
  step: string;
  chunkIndex: number;
  /** The next hops (step names) that acknowledged. */
  to: string[];
  sentAt: string;
}

/** The sink's marker: the deliverable was assembled (and attested) from every chunk. */
export interface GatheredRecord {
  version: 1;
  step: string;
  chunkCount: number;
  gatheredAt: string;
}

const prefix = (workflowId: string, step: string) => safeKey(`job-state/${workflowId}/${step}`);
export const outputsKey = (workflowId: string, step: string, chunkIndex: number) => `${prefix(workflowId, step)}/${padChunkIndex(chunkIndex)}.outputs.json`;
export const sentKey = (workflowId: string, step: string, chunkIndex: number) => `${prefix(workflowId, step)}/${padChunkIndex(chunkIndex)}.sent.json`;
export const gatheredKey = (workflowId: string, step: string) => `${prefix(workflowId, step)}/gathered.json`;

const ENTRY = /\/(\d{5})\.(outputs|sent)\.json$/;

/**
 * Why `key` cannot be taken up: an outage (the KMS unreachable while opening it) stays itself, to be
 * waited out; anything else is a refusal naming the object.
 */
export function refusal(key: string, error: unknown): Error {
  return isOutage(error) ? (error as Error) : new ResumeError(key, (error as Error).message, { cause: error });
}

/** A state object that does not read back is a refusal naming it: nothing is guessed, nothing deleted. */
export class ResumeError extends Error {
  readonly code = 'RESUME_REFUSED';
  constructor(
    readonly key: string,
    why: string,
    options?: { cause?: unknown },
  ) {
    super(`cannot resume from ${key}: ${why}`, options);
    this.name = 'ResumeError';
  }
}

/** The job state of one step of one agent, as found in its volume. */
export interface StepState {
  outputs: Map<number, OutputsRecord>;
  sent: Set<number>;
  gathered?: GatheredRecord;
}

export class JobStateStore {
  constructor(
    private readonly store: ObjectStore,
    private readonly workflowId: string,
  ) {}

  async writeOutputs(record: OutputsRecord, context: ObjectContext): Promise<void> {
    await writeJsonObject(this.store, outputsKey(this.workflowId, record.step, record.chunkIndex), context, record);
  }

  async writeSent(record: SentRecord, context: ObjectContext): Promise<void> {
    await writeJsonObject(this.store, sentKey(this.workflowId, record.step, record.chunkIndex), context, record);
  }

  async writeGathered(record: GatheredRecord, context: ObjectContext): Promise<void> {
    await writeJsonObject(this.store, gatheredKey(this.workflowId, record.step), context, record);
  }

  async readOutputs(step: string, chunkIndex: number, context: ObjectContext): Promise<OutputsRecord | undefined> {
    const key = outputsKey(this.workflowId, step, chunkIndex);
    return (await this.store.exists(key)) ? this.read(key, context, isOutputsRecord) : undefined;
  }

  /** Everything recorded for `step`: a record that is unreadable or malformed throws ResumeError. */
  async load(step: string, context: ObjectContext): Promise<StepState> {
    const state: StepState = { outputs: new Map(), sent: new Set() };
    for (const key of await this.store.list(prefix(this.workflowId, step))) {
      if (key === gatheredKey(this.workflowId, step)) {
        state.gathered = await this.read(key, context, isGatheredRecord);
        continue;
      }
      const m = ENTRY.exec(key);
      if (!m) throw new ResumeError(key, 'not a job-state object this version writes');
      if (m[2] === 'sent') {
        await this.read(key, context, isSentRecord);
        state.sent.add(Number(m[1]));
      } else {
        const record = await this.read(key, context, isOutputsRecord);
        if (record.chunkIndex !== Number(m[1]) || record.step !== step) throw new ResumeError(key, `it describes ${record.step} chunk ${record.chunkIndex}`);
        // Every output it names must still be there: re-sending needs the bytes.
        for (const [artifact, output] of Object.entries(record.outputs)) {
          if (!(await this.store.exists(output.key))) throw new ResumeError(key, `its output ${artifact} (${output.key}) is missing from the volume`);
        }
        state.outputs.set(record.chunkIndex, record);
      }
    }
    return state;
  }

  private async read<T>(key: string, context: ObjectContext, check: (v: unknown) => v is T): Promise<T> {
    let value: unknown;
    try {
      value = await readJsonObject(this.store, key, context);
    } catch (error) {
      throw refusal(key, error);
    }
    if (!check(value)) throw new ResumeError(key, 'it is malformed');
    return value;
  }
}

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
const isSha = (v: unknown) => typeof v === 'string' && /^[0-9a-f]{64}$/.test(v);

function isOutputsRecord(v: unknown): v is OutputsRecord {
  if (!isObject(v) || v.version !== 1 || typeof v.step !== 'string' || !Number.isInteger(v.chunkIndex) || !Number.isInteger(v.chunkCount) || !isObject(v.outputs)) return false;
  return Object.values(v.outputs).every(
    (o) => isObject(o) && typeof o.key === 'string' && isSha(o.sha256) && Number.isInteger(o.byteLength) && (o.records === undefined || Array.isArray(o.records)),
  );
}

function isSentRecord(v: unknown): v is SentRecord {
  return isObject(v) && v.version === 1 && typeof v.step === 'string' && Number.isInteger(v.chunkIndex) && Array.isArray(v.to);
}

function isGatheredRecord(v: unknown): v is GatheredRecord {
  return isObject(v) && v.version === 1 && typeof v.step === 'string' && Number.isInteger(v.chunkCount);
}
