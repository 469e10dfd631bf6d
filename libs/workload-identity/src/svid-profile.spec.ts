import { X509Certificate } from 'node:crypto';
import { beforeAll, describe, expect, it } from 'vitest';
import { formatSpiffeId } from '@reelmesh/addressing';
import { svidLeafExtensions } from './svid-extensions';
import { checkSvid, parseTrustBundle, splitPem, SvidProfileError, type SvidRule, type SvidUse } from './svid-profile';
import { createTestCa, mintIntermediate, mintLeaf, mintSvidVariants, type SvidVariant, type TestCa } from './testing';

const TD = 'reelmesh.local';
const COLOR = formatSpiffeId({ trustDomain: TD, actor: 'color', agent: 'color' });
const USES: SvidUse[] = ['tls-client', 'tls-server', 'signing'];

let ca: TestCa;
let roots: X509Certificate[];
let variants: SvidVariant[];
beforeAll(async () => {
  ca = await createTestCa({ trustDomain: TD });
  roots = parseTrustBundle(ca.bundlePem);
  variants = await mintSvidVariants(ca, COLOR);
});

/** The rule a chain breaks for `use`, or undefined when it passes. */
function ruleOf(chainPem: string, use: SvidUse, trustDomain?: string, trust = roots): SvidRule | undefined {
  try {
    checkSvid(splitPem(chainPem), trust, { use, trustDomain });
    return undefined;
  } catch (error) {
    expect(error).toBeInstanceOf(SvidProfileError);
    const refusal = error as SvidProfileError;
    expect(refusal.message).toContain(`[${refusal.rule}]`);
    return refusal.rule;
  }
}

describe('the X.509-SVID profile', () => {
  it('accepts a good SVID for every use, as PEM, DER or node certificates, and returns its identity and path', async () => {
    const good = await ca.issue({ spiffeId: COLOR });
    for (const use of USES) expect(ruleOf(good.chainPem, use, TD)).toBeUndefined();
    const certs = splitPem(good.chainPem).map((pem) => new X509Certificate(pem));
    for (const chain of [certs, certs.map((c) => c.raw)]) {
      const svid = checkSvid(chain, roots, { use: 'signing' });
      expect(svid.spiffeId).toBe(COLOR);
      expect(svid.trustDomain).toBe(TD);
      expect(svid.path.map((c) => c.fingerprint256)).toEqual([certs[0].fingerprint256, roots[0].fingerprint256]);
      expect(svid.publicKey.equals(certs[0].publicKey)).toBe(true);
      expect(svid.notAfter).toBe(Date.parse(certs[0].validTo));
    }
  });

  it('refuses every bad variant, for each use it breaks, naming its rule — and only for those uses', () => {
    expect(variants.length).toBeGreaterThanOrEqual(17);
    const seen = new Set<SvidRule>();
    for (const variant of variants) {
      for (const use of USES) {
        const expected = variant.refusedFor.includes(use) ? variant.rule : undefined;
        expect({ variant: variant.name, use, rule: ruleOf(variant.svid.chainPem, use, TD) }).toEqual({ variant: variant.name, use, rule: expected });
      }
      seen.add(variant.rule);
    }
    expect([...seen].sort()).toEqual(
      ['ca-basic-constraints', 'ca-key-usage', 'extended-key-usage', 'key-usage', 'leaf-is-ca', 'path-length', 'spiffe-id', 'trust-domain', 'uri-san-count'].sort(),
    );
  });

  it('names what is missing in words a log reader understands', () => {
    const tlsOnly = variants.find((v) => v.name.startsWith('TLS only'))!;
    expect(() => checkSvid(splitPem(tlsOnly.svid.chainPem), roots, { use: 'signing' })).toThrow(
      'leaf has no id-kp-codeSigning extended key usage (signing needs it) [extended-key-usage]',
    );
    const serverOnly = variants.find((v) => v.name === 'serverAuth only')!;
    expect(() => checkSvid(splitPem(serverOnly.svid.chainPem), roots, { use: 'tls-client' })).toThrow(/no id-kp-clientAuth/);
  });

  it('takes the trust domain the root names when the caller gives none, and the caller’s over it', async () => {
    const foreign = variants.find((v) => v.rule === 'trust-domain')!;
    expect(ruleOf(foreign.svid.chainPem, 'signing')).toBe('trust-domain');
    expect(ruleOf(foreign.svid.chainPem, 'signing', 'foreign.example')).toBeUndefined();
    // A root that names no trust domain (as the dev CA's) leaves the trust domain to the caller.
    const bare = await createTestCa({ trustDomain: TD, namesTrustDomain: false });
    const trust = parseTrustBundle(bare.bundlePem);
    const outsider = await bare.issue({ spiffeId: formatSpiffeId({ trustDomain: 'foreign.example', actor: 'color', agent: 'color' }) });
    expect(ruleOf(outsider.chainPem, 'signing', undefined, trust)).toBeUndefined();
    expect(ruleOf(outsider.chainPem, 'signing', TD, trust)).toBe('trust-domain');
  });

  it('follows intermediates a root allows (pathLen 1) and refuses one more', async () => {
    const root1 = await createTestCa({ trustDomain: TD, pathLength: 1 });
    const trust = parseTrustBundle(root1.bundlePem);
    const intermediate = await mintIntermediate(root1.root);
    const viaOne = await mintLeaf(intermediate, COLOR, svidLeafExtensions(COLOR));
    expect(ruleOf(viaOne.chainPem, 'tls-server', TD, trust)).toBeUndefined();
    // Intermediates in any order, the root left out: the path is built, not assumed.
    const [leafPem, intermediatePem] = splitPem(viaOne.chainPem);
    expect(checkSvid([leafPem, intermediatePem], trust, { use: 'tls-client' }).path).toHaveLength(3);
    const viaTwo = await mintLeaf(await mintIntermediate(intermediate), COLOR, svidLeafExtensions(COLOR));
    expect(ruleOf(viaTwo.chainPem, 'tls-server', TD, trust)).toBe('path-length');
    expect(() => checkSvid(splitPem(viaTwo.chainPem), trust, { use: 'tls-server' })).toThrow(/root CA .* allows 1 intermediate CA\(s\) below it \(pathLenConstraint\), but 2 follow/);
  });

  it('refuses a chain that does not lead to the trust bundle, an empty chain and garbage', async () => {
    const other = await createTestCa({ trustDomain: TD });
    const stranger = await other.issue({ spiffeId: COLOR });
    expect(ruleOf(stranger.chainPem, 'signing')).toBe('chain');
    expect(() => checkSvid([], roots, { use: 'signing' })).toThrow(SvidProfileError);
    expect(() => checkSvid(['-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----'], roots, { use: 'signing' })).toThrow(/not an X.509 certificate \[malformed\]/);
  });

  it('caches per chain and roots: the same chain is not analysed twice', async () => {
    const good = await ca.issue({ spiffeId: COLOR });
    const chain = splitPem(good.chainPem);
    const first = checkSvid(chain, roots, { use: 'tls-client' });
    expect(checkSvid([...chain], roots, { use: 'signing' })).toBe(first);
    // Another trust bundle is another entry: this chain does not lead to it.
    const other = parseTrustBundle((await createTestCa({ trustDomain: TD })).bundlePem);
    expect(() => checkSvid(chain, other, { use: 'tls-client' })).toThrow(/does not lead/);
  });
});
