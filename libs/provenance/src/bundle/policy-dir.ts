import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { buildPolicyBundle, packBundle, signBundle } from './bundle';


/** The key id every owner-signed policy bundle names; sidecars (ours and OPA) accept only it. */
export const OWNER_BUNDLE_KEY_ID = 'owner';

export interface SignPolicyDirectoryOptions {
  /** Folder holding data.json and the Rego (the bundle root `reelmesh`, e.g. policies/reelmesh). */
  policyDir: string;
  /** Owner's EC P-256 private key (PEM). */
  privateKey: string;
  keyId?: string;
  /** A counter: sidecars refuse a bundle that is not newer than the one they hold. */
  revision: string | number;
  /** Another data document instead of the folder's data.json (benchmarks add rules). */
  dataFile?: string;
}

/** The owner's signed OPA bundle of a policy folder (data.json + Rego, tests left out), as tar.gz. */
export function signPolicyDirectory(opts: SignPolicyDirectoryOptions): { archive: Buffer; files: number } {
  const rego: Record<string, string> = {};
  for (const entry of readdirSync(opts.policyDir, { recursive: true, withFileTypes: true })) {
    if (!entry.isFile() || !entry.name.endsWith('.rego') || entry.name.endsWith('_test.rego')) continue;
    const path = join(entry.parentPath, entry.name);
    rego[`reelmesh/${relative(opts.policyDir, path)}`] = readFileSync(path, 'utf8');
  }
  const data = JSON.parse(readFileSync(opts.dataFile ?? join(opts.policyDir, 'data.json'), 'utf8')) as unknown;
  const files = buildPolicyBundle({ data: { reelmesh: data }, rego, revision: opts.revision, roots: bundleRoots(Object.values(rego)) });
  return { archive: packBundle(signBundle(files, { privateKey: opts.privateKey, keyId: opts.keyId ?? OWNER_BUNDLE_KEY_ID })), files: files.size };
}

/**
 * The manifest roots: `reelmesh` and every Rego package outside it (the decision-log mask,
 * `package system.log` -> `system/log`). OPA refuses to activate a bundle whose policy or data
 * lies outside its roots.
 */
function bundleRoots(sources: string[]): string[] {
  const roots = new Set(['reelmesh']);
  for (const source of sources) {
    const pkg = /^package\s+([A-Za-z0-9_.]+)/m.exec(source)?.[1];
    if (pkg && pkg !== 'reelmesh' && !pkg.startsWith('reelmesh.')) roots.add(pkg.split('.').join('/'));
  }
  return [...roots];
}
