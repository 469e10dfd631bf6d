import { createPrivateKey, X509Certificate } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { spiffeTrustDomainId } from '@reelmesh/addressing';
import { ConfigError } from '@reelmesh/http-kit';
import { createCa, type Ca } from '@reelmesh/mesh';

/**
 * An existing CA (the one `reelmesh certs` makes, whose bundle every Envoy trusts), so the SVIDs the
 * control plane issues chain to the same trust bundle. Refused with a ConfigError unless the key is
 * the certificate's, the certificate is a CA of this trust domain and it has not expired.
 */
export async function loadCaFiles(certFile: string, keyFile: string, trustDomain: string): Promise<Ca> {
  const [certPem, keyPem] = await Promise.all([certFile, keyFile].map((file) => readFile(file, 'utf8').catch((error: Error) => {
    throw new ConfigError(`cannot read ${file}: ${error.message}`);
  })));
  let cert: X509Certificate;
  let key: ReturnType<typeof createPrivateKey>;
  try {
    cert = new X509Certificate(certPem);
  } catch (error) {
    throw new ConfigError(`--ca-cert ${certFile} is not a PEM certificate: ${(error as Error).message}`);
  }
  try {
    key = createPrivateKey(keyPem);
  } catch (error) {
    throw new ConfigError(`--ca-key ${keyFile} is not a PEM private key: ${(error as Error).message}`);
  }
  if (key.asymmetricKeyType !== 'ec' || key.asymmetricKeyDetails?.namedCurve !== 'prime256v1') throw new ConfigError(`--ca-key ${keyFile} must be an EC P-256 key`);
  if (!cert.checkPrivateKey(key)) throw new ConfigError(`--ca-key ${keyFile} is not the key of --ca-cert ${certFile}`);
  if (!cert.ca) throw new ConfigError(`--ca-cert ${certFile} is not a CA certificate`);
  if (new Date(cert.validTo).getTime() <= Date.now()) throw new ConfigError(`--ca-cert ${certFile} expired on ${cert.validTo}`);
  const own = `URI:${spiffeTrustDomainId(trustDomain)}`;
  if (!(cert.subjectAltName ?? '').split(', ').includes(own)) throw new ConfigError(`--ca-cert ${certFile} is not the CA of trust domain ${trustDomain} (its SAN must be ${own.slice(4)})`);
  // Used as it is: no copy of the CA key is written anywhere.
  return createCa({ trustDomain, root: { certPem, keyPem: key.export({ type: 'pkcs8', format: 'pem' }).toString() } });
}
