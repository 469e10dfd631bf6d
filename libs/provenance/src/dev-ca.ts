import 'reflect-metadata';
import { randomBytes, webcrypto } from 'node:crypto';
import * as x509 from '@peculiar/x509';
import { readSpiffeId } from '@reelmesh/addressing';
import { svidLeafExtensions, svidRootExtensions } from '@reelmesh/workload-identity';
import type { SigningMaterial } from './signer';

// A throwaway CA for agents running without the mesh (and for tests): it mints the same kind of
// leaf the mesh control plane does (ECDSA P-256, the X.509-SVID profile of @reelmesh/workload-identity:
// one SPIFFE URI SAN, digitalSignature, TLS and codeSigning key purposes), so verification is identical.

x509.cryptoProvider.set(webcrypto as unknown as Parameters<typeof x509.cryptoProvider.set>[0]);

const EC = { name: 'ECDSA', namedCurve: 'P-256' } as const;
const ALG = { name: 'ECDSA', hash: 'SHA-256' } as const;

export interface DevCa {
  bundlePem: string;
  issue(spiffeId: string, opts?: { notBefore?: Date; ttlSeconds?: number }): Promise<SigningMaterial>;
}

export async function createDevCa(name = 'ReelMesh dev CA'): Promise<DevCa> {
  const rootKeys = await webcrypto.subtle.generateKey(EC, true, ['sign', 'verify']);
  const now = Date.now();
  const root = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: serial(),
    name: `CN=${name}`,
    notBefore: new Date(now - 60_000),
    notAfter: new Date(now + 365 * 86_400_000),
    keys: rootKeys,
    signingAlgorithm: ALG,
    // A root of the SVID profile; it names no trust domain (it issues ids of any).
    extensions: svidRootExtensions(),
  });
  const bundlePem = root.toString('pem') + '\n';
  return {
    bundlePem,
    async issue(spiffeId, opts = {}) {
      const keys = await webcrypto.subtle.generateKey(EC, true, ['sign', 'verify']);
      const notBefore = opts.notBefore ?? new Date(Date.now() - 60_000);
      const leaf = await x509.X509CertificateGenerator.create({
        serialNumber: serial(),
        subject: `CN=${readSpiffeId(spiffeId)?.agent ?? 'workload'}`,
        issuer: root.subject,
        notBefore,
        notAfter: new Date(notBefore.getTime() + (opts.ttlSeconds ?? 3600) * 1000),
        publicKey: keys.publicKey,
        signingKey: rootKeys.privateKey,
        signingAlgorithm: ALG,
        extensions: svidLeafExtensions(spiffeId),
      });
      const der = Buffer.from(await webcrypto.subtle.exportKey('pkcs8', keys.privateKey));
      const keyPem = `-----BEGIN PRIVATE KEY-----\n${der.toString('base64').replace(/.{1,64}/g, '$&\n')}-----END PRIVATE KEY-----\n`;
      return { spiffeId, keyPem, chainPem: leaf.toString('pem') + '\n' + bundlePem };
    },
  };
}

function serial(): string {
  const bytes = randomBytes(16);
  bytes[0] &= 0x7f;
  return bytes.toString('hex');
}
