import { beforeAll, describe, expect, it } from 'vitest';
import { createFixture, fakeDigest, honestChain, type Fixture } from './chain-fixture.test-util';
import { createDevCa } from './dev-ca';
import { verifyHandoffProvenance } from './handoff-provenance';
import { ProvenanceError } from './provenance-error';
import { recordDigest, signRecord, type ProvenanceRecord } from './record';
import { createSigner } from './signer';
import { verifyChain } from './verify-chain';
import { spiffeId } from '@reelmesh/workflow';

let fx: Fixture;
beforeAll(async () => {
  fx = await createFixture();
});

/** Sign a record for (step, artifact) whose inputs point at the given upstream records. */
function forge(agent: string, step: string, artifact: string, chunkIndex: number, upstream: Array<[string, string, ProvenanceRecord, string?]>) {
  return signRecord(fx.signers.get(agent)!, {
    workflowId: fx.workflow.metadata.id,
    step,
    artifact,
    chunkIndex,
    chunkCount: 4,
    sha256: fakeDigest(step, artifact, chunkIndex),
    inputs: upstream.map(([from, art, record, digest]) => ({
      step: from,
      artifact: art,
      digest: { sha256: digest ?? fakeDigest(from, art, chunkIndex) },
      record: { sha256: recordDigest(record) },
    })),
    parameters: { job: step },
  });
}

function refusal(run: () => unknown): ProvenanceError {
  try {
    run();
  } catch (error) {
    expect(error).toBeInstanceOf(ProvenanceError);
    return error as ProvenanceError;
  }
  throw new Error('expected the chain to be refused');
}

describe('verifyChain on an honest run', () => {
  it('accepts the full chain of a chunk back to the owner, in workflow order', () => {
    const chain = honestChain(fx, 2);
    const result = verifyChain([...chain.values()].reverse(), fx.workflow, fx.ca.bundlePem, {
      targets: [
        { step: 'hdr-master', artifact: 'picture', sha256: fakeDigest('hdr-master', 'picture', 2) },
        { step: 'sound-master', artifact: 'sound', sha256: fakeDigest('sound-master', 'sound', 2) },
      ],
      originals: { 'split/av': fakeDigest('split', 'av', 2) },
    });
    expect(result.chunkIndex).toBe(2);
    expect(result.records.map((r) => `${r.statement.predicate.step}/${r.statement.predicate.artifact}`)).toEqual([
      'split/av',
      'demux/picture',
      'picture-fx/picture',
      'grade/picture',
      'hdr-master/picture',
      'demux/sound',
      'sound-fx/sound',
      'sound-master/sound',
    ]);
    expect(result.records[0].signer).toBe(spiffeId(fx.workflow, 'owner'));
  });

  it('defaults to the full chain: every edge into the sink must be vouched for', () => {
    const chain = honestChain(fx, 0);
    chain.delete('sound-master/sound');
    chain.delete('sound-fx/sound');
    chain.delete('demux/sound');
    const error = refusal(() => verifyChain([...chain.values()], fx.workflow, fx.ca.bundlePem));
    expect(error.message).toContain('missing record sound-master/sound');
    expect(error.link).toMatchObject({ kind: 'missing-record', step: 'sound-master' });
  });

  it('lets a receiver check a partial chain for the edge it receives', () => {
    const chain = honestChain(fx, 1);
    const records = ['split/av', 'demux/picture', 'picture-fx/picture'].map((k) => chain.get(k)!);
    const verified = verifyHandoffProvenance({ records }, { step: 'grade', artifact: 'picture', chunkIndex: 1, sha256: fakeDigest('picture-fx', 'picture', 1) }, fx.workflow, fx.ca.bundlePem);
    expect(verified.records).toHaveLength(3);
  });
});

describe('verifyChain refuses each attack, naming the broken link', () => {
  it('swapped chunk bytes: the digest received is not the one the producer signed', () => {
    const chain = honestChain(fx, 1);
    const records = ['split/av', 'demux/picture', 'picture-fx/picture'].map((k) => chain.get(k)!);
    const error = refusal(() =>
      verifyHandoffProvenance({ records }, { step: 'grade', artifact: 'picture', chunkIndex: 1, sha256: fakeDigest('other', 'bytes', 1) }, fx.workflow, fx.ca.bundlePem),
    );
    expect(error.link).toMatchObject({ kind: 'swapped-digest', step: 'picture-fx', artifact: 'picture' });
    expect(error.message).toMatch(/^swapped digest on picture-fx -> the receiver/);
  });

  it('swapped input: a step claims to have consumed bytes its upstream never produced', () => {
    const chain = honestChain(fx, 1);
    const grade = forge('color', 'grade', 'picture', 1, [['picture-fx', 'picture', chain.get('picture-fx/picture')!, fakeDigest('x', 'y', 9)]]);
    chain.set('grade/picture', grade);
    chain.set('hdr-master/picture', forge('hdr', 'hdr-master', 'picture', 1, [['grade', 'picture', grade]]));
    const error = refusal(() => verifyChain([...chain.values()], fx.workflow, fx.ca.bundlePem));
    expect(error.link).toMatchObject({ kind: 'swapped-digest', step: 'picture-fx' });
    expect(error.message).toContain('swapped digest on picture-fx -> grade');
  });

  it('swapped record: an input names another record than the one presented', () => {
    const chain = honestChain(fx, 1);
    const other = honestChain(fx, 1, new Date(Date.now() - 60_000)); // same outputs, different records
    chain.set('picture-fx/picture', other.get('picture-fx/picture')!);
    chain.set('demux/picture', other.get('demux/picture')!);
    chain.set('demux/sound', other.get('demux/sound')!);
    chain.set('split/av', other.get('split/av')!);
    const error = refusal(() => verifyChain([...chain.values()], fx.workflow, fx.ca.bundlePem));
    expect(error.link.kind).toBe('swapped-record');
    expect(error.message).toContain('grade names record');
  });

  it('replayed chunk: chunk 1 delivered again as chunk 2', () => {
    const chain = honestChain(fx, 1);
    const records = ['split/av', 'demux/picture', 'picture-fx/picture'].map((k) => chain.get(k)!);
    const error = refusal(() =>
      verifyHandoffProvenance({ records }, { step: 'grade', artifact: 'picture', chunkIndex: 2, sha256: fakeDigest('picture-fx', 'picture', 1) }, fx.workflow, fx.ca.bundlePem),
    );
    expect(error.link.kind).toBe('replayed-chunk');
    expect(error.message).toMatch(/^replayed chunk: record (split\/av|demux\/picture|picture-fx\/picture) is about chunk 1, expected chunk 2/);
  });

  it('replayed record inside a chain: one upstream record from another chunk', () => {
    const chain = honestChain(fx, 3);
    chain.set('sound-fx/sound', honestChain(fx, 2).get('sound-fx/sound')!);
    const error = refusal(() => verifyChain([...chain.values()], fx.workflow, fx.ca.bundlePem, { chunkIndex: 3 }));
    expect(error.link).toMatchObject({ kind: 'replayed-chunk', step: 'sound-fx', chunkIndex: 2 });
  });

  it('reordered steps: grade ran before picture-fx', () => {
    const chain = honestChain(fx, 0);
    const grade = forge('color', 'grade', 'picture', 0, [['demux', 'picture', chain.get('demux/picture')!]]);
    const pfx = forge('vfx-2', 'picture-fx', 'picture', 0, [['grade', 'picture', grade]]);
    const hdr = forge('hdr', 'hdr-master', 'picture', 0, [['picture-fx', 'picture', pfx]]);
    chain.set('grade/picture', grade).set('picture-fx/picture', pfx).set('hdr-master/picture', hdr);
    const error = refusal(() => verifyChain([...chain.values()], fx.workflow, fx.ca.bundlePem));
    expect(error.link).toMatchObject({ kind: 'skipped-step', step: 'hdr-master' });
    expect(error.message).toBe('skipped or reordered step: hdr-master took picture from picture-fx, but the workflow feeds it from grade');
  });

  it('skipped step: hdr mastered the picture straight from picture-fx, no grade', () => {
    const chain = honestChain(fx, 0);
    chain.delete('grade/picture');
    chain.set('hdr-master/picture', forge('hdr', 'hdr-master', 'picture', 0, [['picture-fx', 'picture', chain.get('picture-fx/picture')!]]));
    const error = refusal(() => verifyChain([...chain.values()], fx.workflow, fx.ca.bundlePem));
    expect(error.link).toMatchObject({ kind: 'skipped-step', step: 'hdr-master' });
    expect(error.message).toContain('hdr-master took picture from picture-fx');
  });

  it('skipped step with the record simply left out', () => {
    const chain = honestChain(fx, 0);
    chain.delete('sound-fx/sound');
    const error = refusal(() => verifyChain([...chain.values()], fx.workflow, fx.ca.bundlePem));
    expect(error.link).toMatchObject({ kind: 'missing-record', step: 'sound-fx', artifact: 'sound' });
    expect(error.message).toBe('missing record sound-fx/sound of chunk 0, needed by sound-master (was step sound-fx skipped?)');
  });

  it('wrong signer: vfx-2 signs the colourist\'s grade record', () => {
    const chain = honestChain(fx, 0);
    const grade = forge('vfx-2', 'grade', 'picture', 0, [['picture-fx', 'picture', chain.get('picture-fx/picture')!]]);
    chain.set('grade/picture', grade);
    chain.set('hdr-master/picture', forge('hdr', 'hdr-master', 'picture', 0, [['grade', 'picture', grade]]));
    const error = refusal(() => verifyChain([...chain.values()], fx.workflow, fx.ca.bundlePem));
    expect(error.link).toMatchObject({ kind: 'wrong-signer', step: 'grade' });
    expect(error.message).toContain('record grade/picture of chunk 0: signed by spiffe://reelmesh.local/ns/vfx/sa/vfx-2, but the workflow assigns step grade to color');
  });

  it('a record edited after signing fails its signature', () => {
    const chain = honestChain(fx, 0);
    const rec = structuredClone(chain.get('demux/sound')!);
    const statement = JSON.parse(Buffer.from(rec.dsseEnvelope.payload, 'base64').toString());
    statement.subject[0].digest.sha256 = fakeDigest('evil', 'sound', 0);
    rec.dsseEnvelope.payload = Buffer.from(JSON.stringify(statement)).toString('base64');
    chain.set('demux/sound', rec);
    const error = refusal(() => verifyChain([...chain.values()], fx.workflow, fx.ca.bundlePem));
    expect(error.link).toMatchObject({ kind: 'signature', step: 'demux', artifact: 'sound' });
  });

  it('a signer outside the mesh CA is refused even with the right SPIFFE id', async () => {
    const rogueCa = await createDevCa('rogue');
    const rogue = createSigner(await rogueCa.issue(spiffeId(fx.workflow, 'color')))();
    const chain = honestChain(fx, 0);
    const grade = signRecord(rogue, {
      workflowId: fx.workflow.metadata.id, step: 'grade', artifact: 'picture', chunkIndex: 0, chunkCount: 4,
      sha256: fakeDigest('grade', 'picture', 0), parameters: {},
      inputs: [{ step: 'picture-fx', artifact: 'picture', digest: { sha256: fakeDigest('picture-fx', 'picture', 0) }, record: { sha256: recordDigest(chain.get('picture-fx/picture')!) } }],
    });
    chain.set('grade/picture', grade);
    const error = refusal(() => verifyChain([...chain.values()], fx.workflow, fx.ca.bundlePem));
    expect(error.link).toMatchObject({ kind: 'certificate', step: 'grade' });
    expect(error.message).toContain('does not lead to the mesh CA');
  });

  it('a record signed outside its certificate\'s validity is refused', async () => {
    const expired = createSigner(await fx.ca.issue(spiffeId(fx.workflow, 'owner'), { notBefore: new Date(Date.now() - 7_200_000), ttlSeconds: 60 }))();
    const split = signRecord(expired, {
      workflowId: fx.workflow.metadata.id, step: 'split', artifact: 'av', chunkIndex: 0, chunkCount: 4,
      sha256: fakeDigest('split', 'av', 0), parameters: {}, inputs: [],
    });
    const error = refusal(() => verifyChain([split], fx.workflow, fx.ca.bundlePem, { targets: [{ step: 'split', artifact: 'av' }] }));
    expect(error.link).toMatchObject({ kind: 'certificate', step: 'split' });
    expect(error.message).toContain('was not valid at');
  });

  it('an extra record off the chain is refused', () => {
    const chain = honestChain(fx, 0);
    const records = ['split/av', 'demux/picture', 'demux/sound'].map((k) => chain.get(k)!);
    const error = refusal(() =>
      verifyHandoffProvenance({ records }, { step: 'picture-fx', artifact: 'picture', chunkIndex: 0, sha256: fakeDigest('demux', 'picture', 0) }, fx.workflow, fx.ca.bundlePem),
    );
    expect(error.link).toMatchObject({ kind: 'unexpected-record', step: 'demux', artifact: 'sound' });
  });

  it('a chain built on a different original than the owner dispatched', () => {
    const chain = honestChain(fx, 0);
    const error = refusal(() =>
      verifyChain([...chain.values()], fx.workflow, fx.ca.bundlePem, { originals: { 'split/av': fakeDigest('master-b', 'av', 0) } }),
    );
    expect(error.link).toMatchObject({ kind: 'not-original', step: 'split' });
  });

  it('a handoff without provenance is refused', () => {
    const error = refusal(() =>
      verifyHandoffProvenance(undefined, { step: 'demux', artifact: 'av', chunkIndex: 0, sha256: fakeDigest('split', 'av', 0) }, fx.workflow, fx.ca.bundlePem),
    );
    expect(error.link.kind).toBe('missing-record');
  });
});
