import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { generateKeyPairSync } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { AuditLedger, LEDGER_LOG, attestDeliverable, createDevCa, createSigner, recordDigest, sha256Hex, signRecord, writeChunkProvenance, entryKey, verifyBundle } from '@reelmesh/provenance';
import { loadSigningIdentity } from '@reelmesh/agent-kit';
import { startControlPlane } from '@reelmesh/mesh';
import { FsObjectStore } from '@reelmesh/storage';
import { verifyChain } from '@reelmesh/provenance';
import { parseWorkflow } from '@reelmesh/workflow';
import { main } from '../main';
import { MINI as MINI_WORKFLOW_YAML } from '@reelmesh/workflow/testing';

const MINI = MINI_WORKFLOW_YAML;

let dir: string;
let out: string[];
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'reelmesh-cli-prov-'));
  out = [];
  vi.spyOn(process.stdout, 'write').mockImplementation((chunk) => (out.push(String(chunk)), true));
  vi.spyOn(process.stderr, 'write').mockImplementation((chunk) => (out.push(String(chunk)), true));
  process.exitCode = undefined;
});
afterEach(async () => {
  vi.restoreAllMocks();
  process.exitCode = undefined;
  await rm(dir, { recursive: true, force: true });
});

async function setup(demuxSigner: 'fx-1' | 'owner') {
  const ca = await createDevCa();
  const owner = createSigner(await ca.issue('spiffe://test.local/ns/owner/sa/owner'))();
  const fx = createSigner(await ca.issue('spiffe://test.local/ns/fx/sa/fx-1'))();
  const base = { workflowId: 'mini', chunkIndex: 0, chunkCount: 1, parameters: {} };
  const split = signRecord(owner, { ...base, step: 'split', artifact: 'av', sha256: sha256Hex('av'), inputs: [] });
  const demux = signRecord(demuxSigner === 'fx-1' ? fx : owner, {
    ...base,
    step: 'demux',
    artifact: 'picture',
    sha256: sha256Hex('picture'),
    inputs: [{ step: 'split', artifact: 'av', digest: { sha256: sha256Hex('av') }, record: { sha256: recordDigest(split) } }],
  });
  await writeChunkProvenance(join(dir, 'out'), { workflowId: 'mini', chunkIndex: 0, chunkCount: 1, records: [split, demux] });
  // The owner's attestation of the deliverable assembled from that chunk.
  await writeFile(join(dir, 'out', 'film.mp4'), 'the assembled film');
  await attestDeliverable(owner, {
    file: join(dir, 'out', 'film.mp4'),
    workflow: parseWorkflow(MINI),
    step: 'assemble',
    chunks: [[{ step: 'demux', artifact: 'picture', digest: { sha256: sha256Hex('picture') }, record: { sha256: recordDigest(demux) } }]],
    policy: null,
    parameters: { job: 'assemble' },
    ffmpeg: { version: 'test', source: 'system' },
  });
  await writeFile(join(dir, 'ca.pem'), ca.bundlePem);
  await writeFile(join(dir, 'workflow.yaml'), MINI);
  return { owner: () => owner, ca };
}

const run = (...args: string[]) => main(['node', 'reelmesh', ...args]);

describe('reelmesh provenance verify / audit verify', () => {
  it('passes an honest deliverable, named as the file, the output folder or through `provenance verify`', async () => {
    await setup('fx-1');
    const trust = ['--ca', join(dir, 'ca.pem'), '--workflow', join(dir, 'workflow.yaml')];
    for (const args of [['verify', join(dir, 'out', 'film.mp4')], ['verify', join(dir, 'out')], ['provenance', 'verify', join(dir, 'out')], ['verify', '--provenance', join(dir, 'out')]]) {
      out.length = 0;
      expect(await run(...args, ...trust)).toBe(0);
      expect(out.join('')).toContain(`deliverable ok: film.mp4 sha256 ${sha256Hex('the assembled film')} (18 bytes), 1 chunks`);
      expect(out.join('')).toContain('film.mp4: attested by spiffe://test.local/ns/owner/sa/owner');
    }
  });

  it('refuses a deliverable altered after the owner signed it, in one line naming what failed', async () => {
    await setup('fx-1');
    await writeFile(join(dir, 'out', 'film.mp4'), 'the assembled filM');
    expect(await run('verify', join(dir, 'out', 'film.mp4'), '--ca', join(dir, 'ca.pem'), '--workflow', join(dir, 'workflow.yaml'))).toBe(1);
    expect(out.join('')).toMatch(/deliverable REFUSED \(digest\): film\.mp4 has sha256 \w{12}…, the owner attested \w{12}…: the file was altered or swapped/);
  });

  it('fails with the broken link named when a record has the wrong signer', async () => {
    await setup('owner');
    const code = await run('provenance', 'verify', join(dir, 'out'), '--ca', join(dir, 'ca.pem'), '--workflow', join(dir, 'workflow.yaml'));
    expect(out.join('')).toContain('chunk 0: REFUSED: record demux/picture of chunk 0: signed by spiffe://test.local/ns/owner/sa/owner, but the workflow assigns step demux to fx-1');
    expect(code).toBe(1);
  });

  it('refuses to run without a pinned CA', async () => {
    await setup('fx-1');
    expect(await run('provenance', 'verify', join(dir, 'out'), '--workflow', join(dir, 'workflow.yaml'))).toBe(1);
    expect(out.join('')).toContain('pass --ca');
  });

  it('audit verify checks the ledger of a run folder and reports the first tampered entry', async () => {
    const { ca } = await setup('fx-1');
    const store = new FsObjectStore(join(dir, 'run', 'state', 'audit'));
    const ledger = await AuditLedger.open({
      store, workflowId: 'mini', signer: createSigner(await ca.issue('spiffe://test.local/ns/owner/sa/audit-ledger')), checkpointEvery: 2,
    });
    const by = { spiffeId: 'spiffe://test.local/ns/fx/sa/fx-1', agent: 'fx-1', component: 'app' as const };
    await ledger.ingest(by, [0, 1, 2, 3, 4].map((chunk) => ({ type: 'handoff-sent', chunk })));
    const args = ['audit', 'verify', join(dir, 'run'), '--ca', join(dir, 'ca.pem'), '--workflow', join(dir, 'workflow.yaml')];
    expect(await run(...args)).toBe(0);
    expect(out.join('')).toContain('audit log ok: 5 entries (5 handoff-sent), 2 signed checkpoints, 1 after the last checkpoint');
    await store.remove(entryKey(LEDGER_LOG, 3));
    expect(await run(...args)).toBe(1);
    expect(out.join('')).toContain('audit log FAILED at entry 3: entry 3 was removed');
  });

  it('audit verify refuses checkpoints signed by anyone but the owner\'s ledger identity', async () => {
    const { ca } = await setup('fx-1');
    const store = new FsObjectStore(join(dir, 'run', 'state', 'audit'));
    // A contractor's workload key signs the checkpoints: the log chains, but it is not the owner's.
    const ledger = await AuditLedger.open({ store, workflowId: 'mini', signer: createSigner(await ca.issue('spiffe://test.local/ns/fx/sa/audit-ledger')) });
    await ledger.ingest({ spiffeId: 'spiffe://test.local/ns/fx/sa/fx-1', agent: 'fx-1', component: 'app' }, [{ type: 'handoff-sent', chunk: 0 }]);
    await ledger.checkpoint();
    expect(await run('audit', 'verify', join(dir, 'run'), '--ca', join(dir, 'ca.pem'), '--workflow', join(dir, 'workflow.yaml'))).toBe(1);
    expect(out.join('')).toContain('audit log FAILED at checkpoint 0: checkpoint 0: signed by spiffe://test.local/ns/fx/sa/audit-ledger, not the owner spiffe://test.local/ns/owner/sa/audit-ledger');
  });

  it('audit verify says clearly when the folder holds no ledger', async () => {
    await setup('fx-1');
    expect(await run('audit', 'verify', join(dir, 'nowhere'), '--ca', join(dir, 'ca.pem'), '--workflow', join(dir, 'workflow.yaml'))).toBe(1);
    expect(out.join('')).toContain(`no audit ledger in ${join(dir, 'nowhere', 'state', 'audit')}`);
  });
});

describe('agent signing identity from the real control plane', () => {
  it('an app holding the pod token gets its own SVID and signs records that verify against the mesh CA', async () => {
    const cp = await startControlPlane({ trustDomain: 'test.local' });
    try {
      const { token } = cp.enroll({ actor: 'owner', agent: 'owner' });
      const identity = await loadSigningIdentity({ REELMESH_CONTROL_PLANE: cp.url, REELMESH_BOOTSTRAP_TOKEN: token });
      expect(identity!.signer().spiffeId).toBe('spiffe://test.local/ns/owner/sa/owner');
      identity!.stop?.();
      expect(identity!.caBundlePem).toBe(cp.ca.bundlePem);
      const record = signRecord(identity!.signer(), { workflowId: 'mini', step: 'split', artifact: 'av', chunkIndex: 0, chunkCount: 1, sha256: sha256Hex('av'), inputs: [], parameters: {} });
      const chain = verifyChain([record], parseWorkflow(MINI), cp.ca.bundlePem, { targets: [{ step: 'split', artifact: 'av' }] });
      expect(chain.records[0].signer).toBe('spiffe://test.local/ns/owner/sa/owner');
      await expect(loadSigningIdentity({ REELMESH_CONTROL_PLANE: cp.url, REELMESH_BOOTSTRAP_TOKEN: 'stolen' })).rejects.toThrow(/refused the SVID request: HTTP 401 UNAUTHENTICATED: unknown token/);
    } finally {
      await cp.close();
    }
  });
});

describe('reelmesh provenance sign-policy', () => {
  it("writes the repository's policy as an owner-signed OPA bundle the sidecar accepts", async () => {
    const keys = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    await writeFile(join(dir, 'owner.pem'), keys.privateKey.export({ type: 'pkcs8', format: 'pem' }));
    const code = await run('provenance', 'sign-policy', '--key', join(dir, 'owner.pem'), '--revision', '3', '--out', join(dir, 'policy.tar.gz'));
    expect(code).toBe(0);
    const verified = verifyBundle(await readFile(join(dir, 'policy.tar.gz')), keys.publicKey, { keyId: 'owner' });
    expect(verified.revision).toBe('3');
    expect([...verified.files.keys()]).toContain('reelmesh/authz/authz.rego');
    expect([...verified.files.keys()].some((f) => f.endsWith('_test.rego'))).toBe(false);
    expect(Object.keys(verified.data)).toEqual(['reelmesh']);
  });
});
