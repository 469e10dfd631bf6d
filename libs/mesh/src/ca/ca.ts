import 'reflect-metadata';
import { randomBytes, webcrypto } from 'node:crypto';
import { mkdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import * as x509 from '@peculiar/x509';
import { formatSpiffeId, parseSpiffeId } from '@reelmesh/addressing';
import { writeFileAtomic } from '@reelmesh/storage';
import { svidLeafExtensions, svidRootExtensions, type Svid } from '@reelmesh/workload-identity';
import { ECDSA_SHA256, generateEcKeyPair, privateKeyFromPem, privateKeyToPem } from './pem';

x509.cryptoProvider.set(webcrypto as unknown as Parameters<typeof x509.cryptoProvider.set>[0]);

export const DEFAULT_SVID_TTL_SECONDS = 3600;
const ROOT_TTL_DAYS = 365;
// Leaves start a little in the past so a peer whose clock lags slightly still accepts them.
const CLOCK_SKEW_MS = 30_000;

export type { Svid } from '@reelmesh/workload-identity';

export interface IssueRequest {
  spiffeId: string;
  ttlSeconds?: number;
  /** Start of validity; defaults to now (minus a small skew). Lets tests mint expired SVIDs. */
  notBefore?: Date;
}

export interface Ca {
  trustDomain: string;
  bundlePem: string;
  issue(req: IssueRequest): Promise<Svid>;
}

export interface CreateCaOptions {
  trustDomain: string;
  /** Persist the root here (ca-cert.pem, ca-key.pem 0600) and reuse it on the next start. */
  dir?: string;
  /** Or use this root, given as PEMs (a CA made elsewhere, e.g. by `reelmesh certs`); nothing is written. */
  root?: { certPem: string; keyPem: string };
}

export async function createCa(opts: CreateCaOptions): Promise<Ca> {
  const { trustDomain } = opts;
  formatSpiffeId({ trustDomain, actor: 'x', agent: 'x' }); // validates the trust domain
  const root = opts.root
    ? await rootFromPem(opts.root.certPem, opts.root.keyPem, 'the given CA')
    : (opts.dir && (await loadRoot(opts.dir))) || (await createRoot(trustDomain, opts.dir));
  const bundlePem = root.cert.toString('pem') + '\n';

  return {
    trustDomain,
    bundlePem,
    async issue(req) {
      const parts = parseSpiffeId(req.spiffeId);
      if (parts.trustDomain !== trustDomain) {
        throw new Error(`SPIFFE id ${req.spiffeId} is outside trust domain ${trustDomain}`);
      }
      const ttlSeconds = req.ttlSeconds ?? DEFAULT_SVID_TTL_SECONDS;
      if (!Number.isFinite(ttlSeconds) || ttlSeconds <= 0) throw new Error(`invalid ttlSeconds ${ttlSeconds}`);
      const start = req.notBefore ?? new Date(Date.now() - CLOCK_SKEW_MS);
      const notAfter = new Date((req.notBefore?.getTime() ?? Date.now()) + ttlSeconds * 1000);
      const keys = await generateEcKeyPair();
      const cert = await x509.X509CertificateGenerator.create({
        serialNumber: randomSerial(),
        subject: `O=ReelMesh, OU=${parts.actor}, CN=${parts.agent}`,
        issuer: root.cert.subject,
        notBefore: start,
        notAfter,
        publicKey: keys.publicKey,
        signingKey: root.key,
        signingAlgorithm: ECDSA_SHA256,
        // The X.509-SVID profile every verifier checks: TLS client and server, and signing.
        extensions: [
          ...svidLeafExtensions(req.spiffeId),
          await x509.SubjectKeyIdentifierExtension.create(keys.publicKey),
          await x509.AuthorityKeyIdentifierExtension.create(root.cert),
        ],
      });
      const certPem = cert.toString('pem') + '\n';
      return {
        spiffeId: req.spiffeId,
        certPem,
        keyPem: await privateKeyToPem(keys.privateKey),
        chainPem: certPem + bundlePem,
        bundlePem,
        serialNumber: cert.serialNumber,
        notBefore: cert.notBefore,
        notAfter: cert.notAfter,
      };
    },
  };
}

interface Root {
  cert: x509.X509Certificate;
  key: webcrypto.CryptoKey;
}

async function createRoot(trustDomain: string, dir?: string): Promise<Root> {
  const keys = await generateEcKeyPair();
  const now = Date.now();
  const cert = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: randomSerial(),
    name: `O=ReelMesh, CN=ReelMesh mesh CA ${trustDomain}`,
    notBefore: new Date(now - CLOCK_SKEW_MS),
    notAfter: new Date(now + ROOT_TTL_DAYS * 86_400_000),
    keys,
    signingAlgorithm: ECDSA_SHA256,
    extensions: [...svidRootExtensions(trustDomain), await x509.SubjectKeyIdentifierExtension.create(keys.publicKey)],
  });
  if (dir) await saveRoot(dir, cert, keys.privateKey);
  return { cert, key: keys.privateKey };
}

async function saveRoot(dir: string, cert: x509.X509Certificate, key: webcrypto.CryptoKey): Promise<void> {
  await mkdir(dir, { recursive: true, mode: 0o700 });
  // Atomic and durable, so a crash never leaves half a key on disk.
  await writeFileAtomic(join(dir, 'ca-key.pem'), await privateKeyToPem(key), { mode: 0o600 });
  await writeFileAtomic(join(dir, 'ca-cert.pem'), cert.toString('pem') + '\n', { mode: 0o644 });
}

async function loadRoot(dir: string): Promise<Root | undefined> {
  let certPem: string;
  let keyPem: string;
  try {
    [certPem, keyPem] = await Promise.all([
      readFile(join(dir, 'ca-cert.pem'), 'utf8'),
      readFile(join(dir, 'ca-key.pem'), 'utf8'),
    ]);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
  return rootFromPem(certPem, keyPem, `mesh CA in ${dir}`);
}

async function rootFromPem(certPem: string, keyPem: string, what: string): Promise<Root> {
  const cert = new x509.X509Certificate(certPem);
  if (cert.notAfter.getTime() <= Date.now()) throw new Error(`${what} has expired; remove it to mint a new one`);
  return { cert, key: await privateKeyFromPem(keyPem) };
}

function randomSerial(): string {
  const bytes = randomBytes(16);
  bytes[0] &= 0x7f; // positive INTEGER
  return bytes.toString('hex');
}
