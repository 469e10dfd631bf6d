import { createHash, generateKeyPairSync } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { beforeAll, describe, expect, it } from 'vitest';
import { BundleError } from './bundle-error';
import { buildPolicyBundle, packBundle, signBundle, SIGNATURES_FILE, unpackBundle, verifyBundle } from './bundle';
import { decodeJwt, signJwtEs256 } from './jwt';
import { opaFileHash } from './opa-hash';

const DATA = JSON.parse(readFileSync(fileURLToPath(new URL('../../../../policies/reelmesh/data.json', import.meta.url)), 'utf8')) as Record<string, unknown>;
const REGO = readFileSync(fileURLToPath(new URL('../../../../policies/reelmesh/authz/authz.rego', import.meta.url)), 'utf8');

const keys = () => generateKeyPairSync('ec', { namedCurve: 'P-256' });
let owner: ReturnType<typeof keys>;
let other: ReturnType<typeof keys>;
beforeAll(() => {
  owner = keys();
  other = keys();
});

const pem = (k: ReturnType<typeof keys>) => k.publicKey.export({ type: 'spki', format: 'pem' }).toString();
function signed(revision: number, signer = owner) {
  const files = buildPolicyBundle({ data: { reelmesh: DATA }, rego: { 'reelmesh/authz/authz.rego': REGO }, revision });
  return packBundle(signBundle(files, { privateKey: signer.privateKey, keyId: 'owner' }));
}
function refused(run: () => unknown, code: string): BundleError {
  try {
    run();
  } catch (error) {
    expect(error).toBeInstanceOf(BundleError);
    expect((error as BundleError).code).toBe(code);
    return error as BundleError;
  }
  throw new Error(`expected ${code}`);
}

describe('signed policy bundles (OPA format)', () => {
  it('round-trips: tar.gz with data.json, Rego, .manifest and .signatures.json, verified with the owner key', () => {
    const archive = signed(7);
    const files = unpackBundle(archive);
    expect([...files.keys()].sort()).toEqual(['.manifest', SIGNATURES_FILE, 'reelmesh/authz/authz.rego', 'reelmesh/data.json']);
    const verified = verifyBundle(archive, pem(owner), { minRevision: 7, keyId: 'owner' });
    expect(verified.revision).toBe('7');
    expect(verified.data).toEqual({ reelmesh: DATA });
    expect(verified.manifest.roots).toEqual(['reelmesh']);
  });

  it('signs what OPA signs: a files claim with name, SHA-256 hash and algorithm, keyid in the payload', () => {
    const files = unpackBundle(signed(1));
    const token = (JSON.parse(files.get(SIGNATURES_FILE)!.toString()) as { signatures: string[] }).signatures[0];
    const { header, payload } = decodeJwt(token);
    expect(header.alg).toBe('ES256');
    expect(payload.keyid).toBe('owner');
    const rego = (payload.files as Array<{ name: string; hash: string; algorithm: string }>).find((f) => f.name === 'reelmesh/authz/authz.rego')!;
    expect(rego).toEqual({ name: 'reelmesh/authz/authz.rego', hash: createHash('sha256').update(REGO).digest('hex'), algorithm: 'SHA-256' });
    // Structured files hash their sorted compact form: formatting does not matter, content does.
    expect(opaFileHash('x/data.json', Buffer.from('{ "b": [1, {"d": "\u2028", "c": true}], "a": null }'))).toBe(
      createHash('sha256').update('{"a":null,"b":[1,{"c":true,"d":"\\u2028"}]}').digest('hex'),
    );
  });

  it('refuses an unsigned bundle', () => {
    const files = unpackBundle(signed(1));
    files.delete(SIGNATURES_FILE);
    const error = refused(() => verifyBundle(packBundle(files), pem(owner)), 'BUNDLE_UNSIGNED');
    expect(error.message).toBe('bundle is not signed (no .signatures.json)');
  });

  it('refuses a bundle signed by another key', () => {
    refused(() => verifyBundle(signed(3, other), pem(owner)), 'BUNDLE_SIGNATURE_INVALID');
  });

  it('refuses a token whose algorithm header was switched', () => {
    const files = unpackBundle(signed(1));
    const token = (JSON.parse(files.get(SIGNATURES_FILE)!.toString()) as { signatures: string[] }).signatures[0];
    const forged = signJwtEs256(decodeJwt(token).payload, other.privateKey, { alg: 'none' });
    files.set(SIGNATURES_FILE, Buffer.from(JSON.stringify({ signatures: [forged] })));
    refused(() => verifyBundle(packBundle(files), pem(owner)), 'BUNDLE_SIGNATURE_INVALID');
  });

  it('refuses a file modified after signing, naming it', () => {
    const files = unpackBundle(signed(4));
    const data = JSON.parse(files.get('reelmesh/data.json')!.toString()) as Record<string, unknown>;
    data.loosened = true;
    files.set('reelmesh/data.json', Buffer.from(JSON.stringify(data)));
    const error = refused(() => verifyBundle(packBundle(files), pem(owner)), 'BUNDLE_FILE_MODIFIED');
    expect(error.message).toMatch(/^reelmesh\/data\.json was modified after signing/);
  });

  it('accepts a reformatted (but equal) data.json, like OPA', () => {
    const files = unpackBundle(signed(4));
    files.set('reelmesh/data.json', Buffer.from(JSON.stringify(JSON.parse(files.get('reelmesh/data.json')!.toString()))));
    expect(verifyBundle(packBundle(files), pem(owner)).revision).toBe('4');
  });

  it('refuses an added file and a removed file', () => {
    const added = unpackBundle(signed(4));
    added.set('reelmesh/authz/backdoor.rego', Buffer.from('package reelmesh.authz\nallow := true\n'));
    expect(refused(() => verifyBundle(packBundle(added), pem(owner)), 'BUNDLE_FILE_UNSIGNED').message).toContain('reelmesh/authz/backdoor.rego');
    const removed = unpackBundle(signed(4));
    removed.delete('reelmesh/authz/authz.rego');
    refused(() => verifyBundle(packBundle(removed), pem(owner)), 'BUNDLE_FILE_MISSING');
  });

  it('refuses a replayed older revision', () => {
    const error = refused(() => verifyBundle(signed(5), pem(owner), { minRevision: 6 }), 'BUNDLE_REVISION_REPLAYED');
    expect(error.message).toBe('bundle revision 5 is older than the loaded revision 6');
  });

  it('refuses garbage and unsafe paths', () => {
    refused(() => verifyBundle(Buffer.from('not a bundle'), pem(owner)), 'BUNDLE_MALFORMED');
    refused(() => verifyBundle(packBundle(new Map([['../etc/passwd', Buffer.from('x')]])), pem(owner)), 'BUNDLE_MALFORMED');
  });
});
