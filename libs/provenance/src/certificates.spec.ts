import { beforeAll, describe, expect, it } from 'vitest';
import type { X509Certificate } from 'node:crypto';
import { parseTrustBundle, splitPem, verifyCertificateChain } from './certificates';
import { createDevCa, type DevCa } from './dev-ca';
import { subjectName } from './statement';

let ca: DevCa;
let roots: X509Certificate[];
beforeAll(async () => {
  ca = await createDevCa();
  roots = parseTrustBundle(ca.bundlePem);
});

const signerOf = async (uri: string) => verifyCertificateChain(splitPem((await ca.issue(uri)).chainPem), roots, new Date());

describe('verifyCertificateChain reads the leaf identity by the shared SPIFFE rule', () => {
  it('returns the SPIFFE id of an X.509-SVID the dev CA issued (fit for signing)', async () => {
    expect((await signerOf('spiffe://reelmesh.local/ns/vfx/sa/vfx-2')).spiffeId).toBe('spiffe://reelmesh.local/ns/vfx/sa/vfx-2');
  });

  it.each([
    'https://reelmesh.local/ns/vfx/sa/vfx-2',
    'spiffe://reelmesh.local/ns/vfx/sa/vfx-', // a name may not end in "-"
    'spiffe://reelmesh.local/ns/vfx/sa/vfx-2/extra',
    'spiffe://Reelmesh.local/ns/vfx/sa/vfx-2',
  ])('refuses a leaf whose one URI SAN is %s', async (uri) => {
    await expect(signerOf(uri)).rejects.toThrow(`leaf's URI SAN ${uri} is not a SPIFFE id of the form spiffe://<trust-domain>/ns/<actor>/sa/<agent> [spiffe-id]`);
  });
});

describe('subjectName is the handoff subject', () => {
  it('names an output workflow/step/artifact/chunk', () => {
    expect(subjectName('feature-film', 'demux', 'av', 3)).toBe('feature-film/demux/av/3');
  });

  it('refuses names and chunk indexes the address rule refuses', () => {
    expect(() => subjectName('feature-film', '../admin', 'av', 3)).toThrow(TypeError);
    expect(() => subjectName('feature-film', 'demux', 'av', -1)).toThrow(RangeError);
  });
});
