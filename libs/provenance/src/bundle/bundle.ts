import { createPrivateKey, createPublicKey, type KeyObject } from 'node:crypto';
import { BundleError } from './bundle-error';
import { decodeJwt, signJwtEs256, verifyJwtEs256 } from './jwt';
import { HASH_ALGORITHM, opaFileHash } from './opa-hash';
import { normalizePath, packTarGz, unpackTarGz, type BundleFiles } from './tar';

// Signed policy bundles in OPA's format: a tar.gz with data.json, the Rego and .manifest, plus
// .signatures.json = {"signatures": [JWT]} whose `files` claim lists every file's SHA-256
// (see OPA "Bundle Signing"), so a real OPA configured with the same key verifies the same bundle.

export const SIGNATURES_FILE = '.signatures.json';
export const MANIFEST_FILE = '.manifest';

export interface BundleManifest {
  revision: string;
  roots?: string[];
  [key: string]: unknown;
}

export interface PolicyBundleInput {
  /** Data documents by their data path, e.g. { reelmesh: {...} } -> reelmesh/data.json. */
  data: Record<string, unknown>;
  /** Rego sources by bundle path, e.g. { 'reelmesh/authz/authz.rego': '...' }. */
  rego?: Record<string, string>;
  /** A decimal counter: verifiers refuse a bundle older than the one they hold. */
  revision: string | number;
  roots?: string[];
}

export interface SignBundleOptions {
  /** PEM (PKCS#8 or SEC1) EC P-256 private key, or a KeyObject. */
  privateKey: string | KeyObject;
  keyId: string;
  scope?: string;
}

export interface VerifyBundleOptions {
  /** Refuse revisions lower than this (the revision already loaded). */
  minRevision?: string | number;
  /** If set, the JWT's keyid must be this (OPA: the configured key id). */
  keyId?: string;
  scope?: string;
}

export interface VerifiedBundle {
  revision: string;
  manifest: BundleManifest;
  /** The data tree the bundle defines (each data.json at its directory's path). */
  data: Record<string, unknown>;
  files: BundleFiles;
  keyId: string;
}

const REVISION = /^(0|[1-9][0-9]{0,30})$/;

/** The unsigned files of a bundle. */
export function buildPolicyBundle(input: PolicyBundleInput): BundleFiles {
  const revision = String(input.revision);
  if (!REVISION.test(revision)) throw new BundleError('BUNDLE_MALFORMED', `revision must be a decimal counter, got ${JSON.stringify(revision)}`);
  const files: BundleFiles = new Map();
  for (const [path, doc] of Object.entries(input.data)) files.set(normalizePath(`${path}/data.json`), Buffer.from(`${JSON.stringify(doc, null, 2)}\n`));
  for (const [path, source] of Object.entries(input.rego ?? {})) files.set(normalizePath(path), Buffer.from(source));
  const manifest: BundleManifest = { revision, roots: input.roots ?? Object.keys(input.data) };
  files.set(MANIFEST_FILE, Buffer.from(`${JSON.stringify(manifest)}\n`));
  return files;
}

/** Returns the files plus .signatures.json (any previous signature is replaced). */
export function signBundle(files: BundleFiles, opts: SignBundleOptions): BundleFiles {
  const key = typeof opts.privateKey === 'string' ? createPrivateKey(opts.privateKey) : opts.privateKey;
  const content = new Map([...files].filter(([name]) => name !== SIGNATURES_FILE));
  const claims = {
    files: [...content].sort(([a], [b]) => (a < b ? -1 : 1)).map(([name, bytes]) => ({ name, hash: opaFileHash(name, bytes), algorithm: HASH_ALGORITHM })),
    keyid: opts.keyId,
    ...(opts.scope ? { scope: opts.scope } : {}),
    iat: Math.floor(Date.now() / 1000),
    iss: 'reelmesh',
  };
  const token = signJwtEs256(claims, key, { kid: opts.keyId });
  return new Map([...content, [SIGNATURES_FILE, Buffer.from(`${JSON.stringify({ signatures: [token] }, null, 1)}\n`)]]);
}

export const packBundle = packTarGz;
export const unpackBundle = unpackTarGz;

/**
 * Verify a bundle before loading it: exactly one ES256 JWT by `publicKey`, every file listed with
 * a matching SHA-256 and no file unlisted, a manifest revision not older than `minRevision`.
 */
export function verifyBundle(bundle: Buffer | BundleFiles, publicKey: string | KeyObject, opts: VerifyBundleOptions = {}): VerifiedBundle {
  const files = Buffer.isBuffer(bundle) ? unpackTarGz(bundle) : bundle;
  const key = typeof publicKey === 'string' ? createPublicKey(publicKey) : publicKey;
  const signatures = files.get(SIGNATURES_FILE);
  if (!signatures) throw new BundleError('BUNDLE_UNSIGNED', `bundle is not signed (no ${SIGNATURES_FILE})`);

  let tokens: unknown;
  try {
    tokens = (JSON.parse(signatures.toString('utf8')) as { signatures?: unknown }).signatures;
  } catch {
    throw new BundleError('BUNDLE_MALFORMED', `${SIGNATURES_FILE} is not valid JSON`);
  }
  if (!Array.isArray(tokens) || tokens.length !== 1 || typeof tokens[0] !== 'string') {
    throw new BundleError('BUNDLE_UNSIGNED', `${SIGNATURES_FILE} must hold exactly one JWT`);
  }
  const token = tokens[0];
  let claims: Record<string, unknown>;
  try {
    claims = decodeJwt(token).payload;
  } catch {
    throw new BundleError('BUNDLE_MALFORMED', `${SIGNATURES_FILE} holds a malformed JWT`);
  }
  if (!verifyJwtEs256(token, key)) throw new BundleError('BUNDLE_SIGNATURE_INVALID', 'bundle signature does not verify with the owner\'s key');
  const keyId = typeof claims.keyid === 'string' ? claims.keyid : '';
  if (opts.keyId !== undefined && keyId !== opts.keyId) throw new BundleError('BUNDLE_SIGNATURE_INVALID', `bundle signed with key id "${keyId}", expected "${opts.keyId}"`);
  if ((claims.scope ?? '') !== (opts.scope ?? '')) throw new BundleError('BUNDLE_SIGNATURE_INVALID', 'bundle signature scope mismatch');

  const listed = new Map<string, { hash: string; algorithm: string }>();
  for (const f of Array.isArray(claims.files) ? (claims.files as Array<Record<string, unknown>>) : []) {
    if (typeof f?.name !== 'string' || typeof f.hash !== 'string') throw new BundleError('BUNDLE_MALFORMED', 'signature lists a malformed file entry');
    listed.set(normalizePath(f.name), { hash: f.hash, algorithm: String(f.algorithm ?? '') });
  }
  for (const [name, bytes] of files) {
    if (name === SIGNATURES_FILE) continue;
    const entry = listed.get(name);
    if (!entry) throw new BundleError('BUNDLE_FILE_UNSIGNED', `${name} is not covered by the bundle signature`);
    if (entry.algorithm !== HASH_ALGORITHM) throw new BundleError('BUNDLE_SIGNATURE_INVALID', `${name}: unsupported hash algorithm "${entry.algorithm}"`);
    const actual = opaFileHash(name, bytes);
    if (actual !== entry.hash) throw new BundleError('BUNDLE_FILE_MODIFIED', `${name} was modified after signing (digest mismatch: want ${entry.hash}, got ${actual})`);
    listed.delete(name);
  }
  if (listed.size > 0) throw new BundleError('BUNDLE_FILE_MISSING', `file(s) ${[...listed.keys()].join(', ')} signed but missing from the bundle`);

  const manifest = parseManifest(files.get(MANIFEST_FILE));
  if (opts.minRevision !== undefined && BigInt(manifest.revision) < BigInt(String(opts.minRevision))) {
    throw new BundleError('BUNDLE_REVISION_REPLAYED', `bundle revision ${manifest.revision} is older than the loaded revision ${opts.minRevision}`);
  }
  return { revision: manifest.revision, manifest, data: dataTree(files), files, keyId };
}

function parseManifest(bytes: Buffer | undefined): BundleManifest {
  if (!bytes) throw new BundleError('BUNDLE_MALFORMED', `bundle has no ${MANIFEST_FILE} (its revision is what stops replays)`);
  let manifest: BundleManifest;
  try {
    manifest = JSON.parse(bytes.toString('utf8')) as BundleManifest;
  } catch {
    throw new BundleError('BUNDLE_MALFORMED', `${MANIFEST_FILE} is not valid JSON`);
  }
  if (typeof manifest?.revision !== 'string' || !REVISION.test(manifest.revision)) {
    throw new BundleError('BUNDLE_MALFORMED', `${MANIFEST_FILE} revision must be a decimal counter string`);
  }
  return manifest;
}

function dataTree(files: BundleFiles): Record<string, unknown> {
  const root: Record<string, unknown> = {};
  for (const [name, bytes] of files) {
    if (name !== 'data.json' && !name.endsWith('/data.json')) continue;
    const path = name.split('/').slice(0, -1);
    const value = JSON.parse(bytes.toString('utf8')) as unknown;
    if (path.length === 0) {
      Object.assign(root, value as object);
      continue;
    }
    let node = root;
    for (const segment of path.slice(0, -1)) node = (node[segment] ??= {}) as Record<string, unknown>;
    node[path[path.length - 1]] = value;
  }
  return root;
}
