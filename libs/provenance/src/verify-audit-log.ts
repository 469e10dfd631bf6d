import type { X509Certificate } from 'node:crypto';
import type { ObjectStore } from '@reelmesh/storage';
import {
  auditContext,
  chainHash,
  CHECKPOINT_PAYLOAD_TYPE,
  checkpointKey,
  entryDigest,
  entryKey,
  GENESIS_HASH,
  seqOfKey,
  type AuditEntry,
  type CheckpointStatement,
  type SignedCheckpoint,
} from './audit-log';
import { parseTrustBundle, verifyCertificateChain } from './certificates';
import { isDsseEnvelope, verifyEnvelope } from './dsse';
import { readJsonObject } from './object-io';

export type AuditProblemKind = 'altered' | 'removed' | 'inserted' | 'checkpoint-invalid' | 'checkpoint-removed' | 'unreadable';

export interface AuditProblem {
  kind: AuditProblemKind;
  /** The entry (or checkpoint index, for checkpoint problems) where the log first goes wrong. */
  seq: number;
  message: string;
}

export interface AuditReport {
  ok: boolean;
  entries: number;
  checkpoints: number;
  /** Entries after the last signed checkpoint: chained, but a truncation there is undetectable. */
  uncheckpointed: number;
  problem?: AuditProblem;
}

export interface VerifyAuditLogOptions {
  store: ObjectStore;
  name: string;
  workflowId: string;
  /** The agent that wrote the log (object context). */
  agent: string;
  caBundle: string | X509Certificate[];
  /** SPIFFE id allowed to sign checkpoints (the owner). */
  checkpointSigner: string;
  /** Called with every entry once the whole log verified, in order (e.g. to count event types). */
  onEntry?: (entry: AuditEntry) => void;
}

/**
 * Re-derives the whole chain and compares it with the owner's signed checkpoints. Returns the
 * FIRST problem: an entry altered, removed or inserted (also when the attacker re-hashed the
 * chain after it: the checkpoints list each entry's digest), or a checkpoint forged or removed.
 */
export async function verifyAuditLog(opts: VerifyAuditLogOptions): Promise<AuditReport> {
  const roots = typeof opts.caBundle === 'string' ? parseTrustBundle(opts.caBundle) : opts.caBundle;
  const ctx = auditContext(opts.workflowId, opts.agent);
  const report = (entries: number, checkpoints: number, uncheckpointed: number, problem?: AuditProblem): AuditReport => ({
    ok: !problem,
    entries,
    checkpoints,
    uncheckpointed,
    ...(problem ? { problem } : {}),
  });

  // 1. Checkpoints: signed by the owner, contiguous, each starting where the last one ended.
  const cpIndexes = sortedSeqs(await opts.store.list(`audit/${opts.name}/checkpoints`));
  const committed: string[] = [];
  const heads = new Map<number, string>();
  for (let i = 0; i < cpIndexes.length; i++) {
    if (cpIndexes[i] !== i) return report(0, i, 0, { kind: 'checkpoint-removed', seq: i, message: `checkpoint ${i} is missing` });
    let statement: CheckpointStatement;
    try {
      statement = openCheckpoint((await readJsonObject(opts.store, checkpointKey(opts.name, i), ctx)) as SignedCheckpoint, roots, opts.checkpointSigner);
    } catch (error) {
      return report(0, i, 0, { kind: 'checkpoint-invalid', seq: i, message: `checkpoint ${i}: ${(error as Error).message}` });
    }
    if (statement.index !== i || statement.log !== opts.name || statement.from !== committed.length || statement.to - statement.from + 1 !== statement.digests.length) {
      return report(0, i, 0, { kind: 'checkpoint-invalid', seq: i, message: `checkpoint ${i} does not continue checkpoint ${i - 1}` });
    }
    committed.push(...statement.digests);
    heads.set(statement.to, statement.head);
  }

  // 2. Entries, in seq order, against the chain and the committed digests.
  const seqs = sortedSeqs(await opts.store.list(`audit/${opts.name}/entries`));
  const stored = new Map<number, AuditEntry>();
  for (const seq of seqs) {
    try {
      stored.set(seq, (await readJsonObject(opts.store, entryKey(opts.name, seq), ctx)) as AuditEntry);
    } catch (error) {
      return report(seq, cpIndexes.length, 0, { kind: 'unreadable', seq, message: `entry ${seq} cannot be read: ${(error as Error).message}` });
    }
  }
  const digestAt = (seq: number) => {
    const e = stored.get(seq);
    return e ? safeDigest(e) : undefined;
  };
  const last = Math.max(seqs.length ? seqs[seqs.length - 1] : -1, committed.length - 1);
  const hashes: string[] = [];
  for (let seq = 0; seq <= last; seq++) {
    const fail = (kind: AuditProblemKind, at: number, message: string) => report(seq, cpIndexes.length, 0, { kind, seq: at, message });
    const e = stored.get(seq);
    if (!e) return fail('removed', seq, `entry ${seq} was removed`);
    const digest = safeDigest(e);
    if (e.seq !== seq || digest === undefined) return fail('altered', seq, `entry ${seq} was altered (its fields no longer match its place in the log)`);
    if (seq < committed.length && digest !== committed[seq]) {
      if (committed[seq + 1] === digest) return fail('removed', seq, `entry ${seq} was removed (the entry now at ${seq} is the one the checkpoint lists at ${seq + 1})`);
      if (digestAt(seq + 1) === committed[seq]) return fail('inserted', seq, `entry ${seq} was inserted (the checkpoint lists the entry now at ${seq + 1} at ${seq})`);
      return fail('altered', seq, `entry ${seq} was altered (its digest differs from the signed checkpoint)`);
    }
    const prev = seq === 0 ? GENESIS_HASH : hashes[seq - 1];
    if (e.prev !== prev) {
      if (seq >= 2 && e.prev === hashes[seq - 2]) return fail('inserted', seq - 1, `entry ${seq - 1} was inserted (entry ${seq} commits to entry ${seq - 2})`);
      return fail('altered', seq - 1, `entry ${seq} does not commit to entry ${seq - 1}: entry ${seq - 1} was altered or an entry was removed after it`);
    }
    const hash = chainHash(prev, digest);
    if (e.hash !== hash) return fail('altered', seq, `entry ${seq} was altered (its content no longer matches its hash)`);
    const head = heads.get(seq);
    if (head !== undefined && head !== hash) return fail('altered', seq, `the chain up to entry ${seq} differs from signed checkpoint's head`);
    hashes.push(hash);
  }
  if (opts.onEntry) for (let seq = 0; seq <= last; seq++) opts.onEntry(stored.get(seq)!);
  return report(last + 1, cpIndexes.length, last + 1 - committed.length);
}

function openCheckpoint(signed: SignedCheckpoint, roots: X509Certificate[], expectedSigner: string): CheckpointStatement {
  if (!isDsseEnvelope(signed?.dsseEnvelope) || signed.dsseEnvelope.payloadType !== CHECKPOINT_PAYLOAD_TYPE) throw new Error('malformed checkpoint');
  const statement = JSON.parse(Buffer.from(signed.dsseEnvelope.payload, 'base64').toString('utf8')) as CheckpointStatement;
  const signer = verifyCertificateChain(signed.verificationMaterial?.certificateChain ?? [], roots, new Date(statement.time));
  if (!verifyEnvelope(signed.dsseEnvelope, signer.publicKey)) throw new Error('signature does not verify');
  if (signer.spiffeId !== expectedSigner) throw new Error(`signed by ${signer.spiffeId}, not the owner ${expectedSigner}`);
  if (!Array.isArray(statement.digests) || !Number.isSafeInteger(statement.from) || !Number.isSafeInteger(statement.to)) throw new Error('malformed checkpoint');
  return statement;
}

/** The entry's digest, or undefined when the stored entry cannot have one (then it was altered). */
function safeDigest(e: AuditEntry): string | undefined {
  if (typeof e !== 'object' || e === null || typeof e.time !== 'string' || typeof e.event !== 'object') return undefined;
  try {
    return entryDigest(e);
  } catch {
    // Not canonical JSON (e.g. 1e400 parses as Infinity): the log never wrote such an entry.
    return undefined;
  }
}

function sortedSeqs(keys: string[]): number[] {
  return keys
    .map(seqOfKey)
    .filter((n): n is number => n !== undefined)
    .sort((a, b) => a - b);
}
