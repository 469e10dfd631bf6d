// The X.509-SVID profile at provenance verification: a record (or an audit checkpoint) signed by a
// leaf that breaks a rule is refused with a message naming the rule — and a TLS-only SVID (no
// id-kp-codeSigning) cannot sign at all. Real certificates, minted here.
import type { X509Certificate } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { FsObjectStore } from '@reelmesh/storage';
import { spiffeId, type Workflow } from '@reelmesh/workflow';
import { createTestCa, mintSvidVariants, type SvidVariant, type TestCa } from '@reelmesh/workload-identity/testing';
import { AuditLog } from './audit-log';
import { fakeDigest, filmShapedWorkflow } from './chain-fixture.test-util';
import { parseTrustBundle, verifyCertificateChain, splitPem } from './certificates';
import { isProvenanceError, type ProvenanceError } from './provenance-error';
import { signRecord, verifyRecord, type ProvenanceRecord } from './record';
import { createSigner, type SigningMaterial } from './signer';
import { verifyAuditLog } from './verify-audit-log';
import { verifyChain } from './verify-chain';

let workflow: Workflow;
let ca: TestCa;
let roots: X509Certificate[];
let owner: string;
let variants: SvidVariant[];

beforeAll(async () => {
  workflow = filmShapedWorkflow();
  owner = spiffeId(workflow, 'owner');
  ca = await createTestCa({ trustDomain: workflow.metadata.trustDomain });
  roots = parseTrustBundle(ca.bundlePem);
  variants = await mintSvidVariants(ca, owner);
});

/** The owner's record of chunk 0 of split/av, signed with `material`. */
const splitRecord = (material: SigningMaterial): ProvenanceRecord =>
  signRecord(createSigner(material)(), {
    workflowId: workflow.metadata.id,
    step: 'split',
    artifact: 'av',
    chunkIndex: 0,
    chunkCount: 4,
    sha256: fakeDigest('split', 'av', 0),
    parameters: {},
    inputs: [],
  });

function refusal(fn: () => unknown): ProvenanceError {
  try {
    fn();
  } catch (error) {
    if (isProvenanceError(error)) return error;
    throw error;
  }
  throw new Error('expected a refusal');
}

describe('certificate rules at provenance verification', () => {
  it('a record signed by a good SVID verifies, alone and as a chain', async () => {
    const record = splitRecord(await ca.issue({ spiffeId: owner }));
    expect(verifyRecord(record, workflow, roots).signer).toBe(owner);
    expect(verifyChain([record], workflow, ca.bundlePem, { targets: [{ step: 'split', artifact: 'av' }] }).records).toHaveLength(1);
  });

  it('a record signed by each leaf that breaks a rule for signing is refused, the message naming the rule', () => {
    const refused = variants.filter((v) => v.refusedFor.includes('signing'));
    expect(refused.length).toBeGreaterThanOrEqual(17);
    for (const variant of refused) {
      const record = splitRecord(variant.svid);
      for (const error of [
        refusal(() => verifyRecord(record, workflow, roots)),
        refusal(() => verifyChain([record], workflow, ca.bundlePem, { targets: [{ step: 'split', artifact: 'av' }] })),
      ]) {
        expect({ variant: variant.name, kind: error.link?.kind, message: error.message }).toEqual({
          variant: variant.name,
          kind: 'certificate',
          message: expect.stringMatching(new RegExp(`signing certificate rejected: .*\\[${variant.rule}\\]$`)),
        });
      }
    }
  });

  it('a TLS-only SVID (serverAuth + clientAuth, no codeSigning) cannot sign records', () => {
    const tlsOnly = variants.find((v) => v.refusedFor.length === 1 && v.refusedFor[0] === 'signing')!;
    expect(refusal(() => verifyRecord(splitRecord(tlsOnly.svid), workflow, roots)).message).toBe(
      'record split/av of chunk 0: signing certificate rejected: leaf has no id-kp-codeSigning extended key usage (signing needs it) [extended-key-usage]',
    );
  });

  it("holds the signer to the trust domain it is given, else to the root's", () => {
    const foreign = variants.find((v) => v.rule === 'trust-domain')!;
    const chain = splitPem(foreign.svid.chainPem);
    expect(() => verifyCertificateChain(chain, roots, new Date())).toThrow(/outside trust domain reelmesh\.local \[trust-domain\]/);
    expect(verifyCertificateChain(chain, roots, new Date(), { trustDomain: 'foreign.example' }).spiffeId).toBe(foreign.svid.spiffeId);
  });

  it("an audit log whose checkpoints a TLS-only SVID signed does not verify", async () => {
    const tlsOnly = variants.find((v) => v.refusedFor.length === 1 && v.refusedFor[0] === 'signing')!;
    const dir = await mkdtemp(join(tmpdir(), 'reelmesh-audit-rules-'));
    try {
      const store = new FsObjectStore(dir);
      const log = await AuditLog.open({ store, name: 'owner', workflowId: workflow.metadata.id, agent: 'owner', signer: createSigner(tlsOnly.svid), checkpointEvery: 2 });
      for (let i = 0; i < 2; i++) await log.append({ type: 'handoff', chunk: i });
      const report = await verifyAuditLog({ store, name: 'owner', workflowId: workflow.metadata.id, agent: 'owner', caBundle: ca.bundlePem, checkpointSigner: owner });
      expect(report).toMatchObject({ ok: false, problem: { kind: 'checkpoint-invalid', message: expect.stringContaining('no id-kp-codeSigning extended key usage') } });
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
