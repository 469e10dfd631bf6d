import type { X509Certificate } from 'node:crypto';
import { buildGraph, type Workflow } from '@reelmesh/workflow';
import { parseTrustBundle } from './certificates';
import { ProvenanceError } from './provenance-error';
import { verifyRecord, type VerifiedRecord } from './record';

/** An output the chain must end in: a producer step's artifact, optionally with the digest actually received. */
export interface ChainTarget {
  step: string;
  artifact: string;
  sha256?: string;
}

export interface VerifyChainOptions {
  /** The chunk the records must all be about (default: the chunk of the first target's record). */
  chunkIndex?: number;
  /** Where the chain ends (default: every edge into the workflow's sink steps, i.e. the full chain). */
  targets?: ChainTarget[];
  /** The owner's own originals: `${step}/${artifact}` of a source step -> the sha256 it dispatched. */
  originals?: Record<string, string>;
  now?: Date;
}

export interface VerifiedChain {
  chunkIndex: number;
  /** Every record on the chain, each after the records it consumed. */
  records: VerifiedRecord[];
}

/**
 * Checks one chunk's records form exactly the workflow's graph back to the owner's signed
 * originals: every record verified and signed by its step's agent, every input naming the
 * upstream record and digest it consumed, no step skipped, reordered or added, one chunk index.
 * Throws ProvenanceError naming the broken link.
 */
export function verifyChain(
  records: readonly unknown[],
  workflow: Workflow,
  caBundle: string | X509Certificate[],
  options: VerifyChainOptions = {},
): VerifiedChain {
  const roots = typeof caBundle === 'string' ? parseTrustBundle(caBundle) : caBundle;
  const graph = buildGraph(workflow);
  const targets: ChainTarget[] =
    options.targets ??
    graph.sinkSteps.flatMap((sink) => graph.inputsOf(sink).map((edge) => ({ step: edge.from, artifact: edge.artifact })));
  if (targets.length === 0) throw new ProvenanceError('nothing to verify: no chain target', { kind: 'missing-record' });

  const verified = records.map((record) => verifyRecord(record, workflow, roots, options.now));
  const byKey = new Map<string, VerifiedRecord>();
  for (const v of verified) {
    const key = keyOf(v.statement.predicate.step, v.statement.predicate.artifact);
    const seen = byKey.get(key);
    if (seen && seen.digest !== v.digest) {
      throw new ProvenanceError(`conflicting records for ${key}: two different signed records claim the same output`, {
        kind: 'conflicting-record',
        step: v.statement.predicate.step,
        artifact: v.statement.predicate.artifact,
      });
    }
    byKey.set(key, v);
  }

  const first = byKey.get(keyOf(targets[0].step, targets[0].artifact));
  const chunkIndex = options.chunkIndex ?? first?.statement.predicate.chunkIndex ?? 0;
  for (const v of byKey.values()) {
    const p = v.statement.predicate;
    if (p.chunkIndex !== chunkIndex) {
      throw new ProvenanceError(`replayed chunk: record ${p.step}/${p.artifact} is about chunk ${p.chunkIndex}, expected chunk ${chunkIndex}`, {
        kind: 'replayed-chunk',
        step: p.step,
        artifact: p.artifact,
        chunkIndex: p.chunkIndex,
      });
    }
  }

  const ordered: VerifiedRecord[] = [];
  const done = new Set<string>();
  const visiting = new Set<string>();

  const visit = (step: string, artifact: string, consumer: string, expect?: { sha256: string; record?: string }): void => {
    const key = keyOf(step, artifact);
    const link = { step, artifact, chunkIndex };
    const v = byKey.get(key);
    if (!v) {
      throw new ProvenanceError(`missing record ${key} of chunk ${chunkIndex}, needed by ${consumer} (was step ${step} skipped?)`, {
        kind: 'missing-record',
        ...link,
      });
    }
    if (expect?.record && expect.record !== v.digest) {
      throw new ProvenanceError(`swapped record: ${consumer} names record ${short(expect.record)} for its input ${key}, but the record present is ${short(v.digest)}`, {
        kind: 'swapped-record',
        ...link,
      });
    }
    if (expect && expect.sha256 !== v.sha256) {
      throw new ProvenanceError(`swapped digest on ${step} -> ${consumer}: ${consumer} consumed ${artifact} with sha256 ${short(expect.sha256)}, but ${step} produced ${short(v.sha256)}`, {
        kind: 'swapped-digest',
        ...link,
      });
    }
    if (done.has(key)) return;
    if (visiting.has(key)) throw new ProvenanceError(`record ${key} is its own ancestor`, { kind: 'malformed', ...link });
    visiting.add(key);

    const inputs = v.statement.predicate.inputs;
    const declared = graph.inputsOf(step);
    for (const edge of declared) {
      const input = inputs.find((i) => i.artifact === edge.artifact && i.step === edge.from);
      if (!input) {
        const other = inputs.find((i) => i.artifact === edge.artifact);
        throw new ProvenanceError(
          other
            ? `skipped or reordered step: ${step} took ${edge.artifact} from ${other.step}, but the workflow feeds it from ${edge.from}`
            : `record ${key} does not name its input ${edge.from}/${edge.artifact}`,
          { kind: 'skipped-step', ...link },
        );
      }
    }
    for (const input of inputs) {
      if (!declared.some((edge) => edge.from === input.step && edge.artifact === input.artifact)) {
        throw new ProvenanceError(`skipped or reordered step: ${step} took ${input.artifact} from ${input.step}, which the workflow does not feed into ${step}`, {
          kind: 'skipped-step',
          ...link,
        });
      }
    }
    if (declared.length === 0) {
      const original = options.originals?.[key];
      if (original !== undefined && original !== v.sha256) {
        throw new ProvenanceError(`not the owner's original: ${key} of chunk ${chunkIndex} has sha256 ${short(v.sha256)}, the owner dispatched ${short(original)}`, {
          kind: 'not-original',
          ...link,
        });
      }
    }
    for (const input of inputs) visit(input.step, input.artifact, step, { sha256: input.digest.sha256, record: input.record.sha256 });
    visiting.delete(key);
    done.add(key);
    ordered.push(v);
  };

  for (const target of targets) {
    visit(target.step, target.artifact, 'the receiver', target.sha256 ? { sha256: target.sha256 } : undefined);
  }
  for (const [key, v] of byKey) {
    if (!done.has(key)) {
      throw new ProvenanceError(`unexpected record ${key}: it is not on the chain the workflow declares`, {
        kind: 'unexpected-record',
        step: v.statement.predicate.step,
        artifact: v.statement.predicate.artifact,
        chunkIndex,
      });
    }
  }
  return { chunkIndex, records: ordered };
}

const keyOf = (step: string, artifact: string) => `${step}/${artifact}`;
const short = (hex: string) => hex.slice(0, 12);
