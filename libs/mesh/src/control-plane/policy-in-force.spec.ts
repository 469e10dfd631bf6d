import { createHash, generateKeyPairSync } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildPolicyBundle, canonicalJson, packBundle, signBundle } from '@reelmesh/provenance';
import { ControlPlaneClient } from '@reelmesh/workload-identity';
import { startControlPlane, type ControlPlane } from './server';

// The owner names the policy in force in its deliverable's attestation: any pod may ask the
// control plane which revision that is and what its digest is.

const sha256 = (bytes: Buffer | string) => createHash('sha256').update(bytes).digest('hex');

/** The owner's pod and the admin, as clients of `cp`, for the length of `body`. */
async function asOwnerAndAdmin(cp: ControlPlane, body: (workload: ControlPlaneClient, admin: ControlPlaneClient) => Promise<void>): Promise<void> {
  const workload = new ControlPlaneClient({ url: cp.url, token: cp.enroll({ actor: 'owner', agent: 'owner' }).token });
  const admin = new ControlPlaneClient({ url: cp.url, token: cp.adminToken });
  try {
    await body(workload, admin);
  } finally {
    workload.close();
    admin.close();
  }
}

describe('the policy in force, as a workload reads it', () => {
  const keys = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  let signed: ControlPlane;
  let plain: ControlPlane;
  beforeAll(async () => {
    signed = await startControlPlane({ trustDomain: 'reelmesh.local', policyBundleKey: { publicKeyPem: keys.publicKey.export({ type: 'spki', format: 'pem' }).toString(), keyId: 'owner' } });
    plain = await startControlPlane({ trustDomain: 'reelmesh.local' });
  });
  afterAll(() => {
    signed.close();
    plain.close();
  });

  it("is the owner-signed bundle's manifest revision and the archive's sha256", () =>
    asOwnerAndAdmin(signed, async (workload, admin) => {
      await expect(workload.policy()).rejects.toMatchObject({ status: 404 });
      for (const revision of ['41', '42']) {
        const files = buildPolicyBundle({ data: { reelmesh: { workflow: { id: 'mini' } } }, rego: {}, revision });
        const archive = packBundle(signBundle(files, { privateKey: keys.privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(), keyId: 'owner' }));
        await admin.publishBundle(archive);
        expect(await workload.policy()).toMatchObject({ signed: true, bundle: { revision, sha256: sha256(archive) }, sha256: sha256(archive) });
      }
    }));

  it('is the data document digest in unsigned mode', () =>
    asOwnerAndAdmin(plain, async (workload, admin) => {
      const document = { workflow: { id: 'mini' }, principals: {} };
      await admin.publishPolicy(document);
      const policy = await workload.policy();
      expect(policy).toMatchObject({ signed: false, revision: 1, sha256: sha256(canonicalJson(document)) });
      expect(policy.bundle).toBeUndefined();
    }));
});
