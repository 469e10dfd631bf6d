// OPA's decision logs go to the owner's ledger, masked by a rule the owner's signed bundle ships.
// OPA cannot run here: the config is checked against OPA's documented fields, the mask's pointers
// are applied (as OPA erases them) to OPA-Envoy inputs recorded from a real OPA, and the bundle's
// manifest roots are checked to cover every Rego package (OPA refuses a bundle otherwise).
import { generateKeyPairSync } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { POD_TOKEN_HEADER } from '@reelmesh/agent-kit';
import { signPolicyDirectory, verifyBundle } from '@reelmesh/provenance';
import { OPA_LEDGER_SERVICE, OPA_MASK_DECISION, opaConfig } from './opa-config';
import { REPO_ROOT } from './test-support';

const POLICY_DIR = join(REPO_ROOT, 'policies/reelmesh');
const LEDGER = 'http://127.0.0.1:15002';

/** Every .rego (tests left out) under the policy folder, by path. */
function regoFiles(): Map<string, string> {
  const files = new Map<string, string>();
  for (const entry of readdirSync(POLICY_DIR, { recursive: true, withFileTypes: true })) {
    if (entry.isFile() && entry.name.endsWith('.rego') && !entry.name.endsWith('_test.rego')) files.set(join(entry.parentPath, entry.name), readFileSync(join(entry.parentPath, entry.name), 'utf8'));
  }
  return files;
}
const packageOf = (source: string) => /^package\s+([A-Za-z0-9_.]+)/m.exec(source)![1];

/** The mask rule's source: the package at OPA's mask_decision path. */
function maskRego(): string {
  const pkg = OPA_MASK_DECISION.split('/').filter(Boolean).slice(0, -1).join('.');
  const found = [...regoFiles().values()].filter((source) => packageOf(source) === pkg);
  expect(found, `one Rego file of package ${pkg}`).toHaveLength(1);
  return found[0];
}

/** The JSON pointers the rule yields: its literal pointers, and each header of the header rule under its prefix. */
function maskPointers(source: string): string[] {
  const strings = [...source.matchAll(/"([^"\n]*)"/g)].map((m) => m[1]);
  const prefix = strings.find((s) => s.endsWith('/headers/'))!;
  const headerSet = /some header in \{([^}]*)\}/.exec(source)![1];
  const headers = [...headerSet.matchAll(/"([^"]+)"/g)].map((m) => m[1]);
  return [...strings.filter((s) => s.startsWith('/input/') && !s.endsWith('/')), ...headers.map((h) => `${prefix}${h}`)];
}

/** OPA's erase: remove the value at a JSON pointer, if there is one. */
function erase(event: Record<string, unknown>, pointer: string): void {
  const path = pointer.split('/').slice(1);
  let node: unknown = event;
  for (const key of path.slice(0, -1)) node = (node as Record<string, unknown> | undefined)?.[key];
  if (node && typeof node === 'object') delete (node as Record<string, unknown>)[path[path.length - 1]];
}

describe('OPA decision logs to the owner ledger', () => {
  it('without a ledger: console only, as before', () => {
    expect(opaConfig()).toEqual({ plugins: expect.any(Object), decision_logs: { console: true } });
    expect(opaConfig()).not.toHaveProperty('services');
  });

  it('with one: a service, uploads to it every few seconds with a bounded buffer, the mask named, no console copy', () => {
    const config = opaConfig({ ledgerUrl: LEDGER }) as { services: Record<string, { url: string }>; decision_logs: Record<string, unknown> & { reporting: Record<string, number> } };
    expect(config.services).toEqual({ [OPA_LEDGER_SERVICE]: { url: LEDGER } });
    const logs = config.decision_logs;
    expect(logs).toMatchObject({ service: OPA_LEDGER_SERVICE, mask_decision: '/system/log/mask', console: false });
    // OPA refuses min without max (and max < min); its defaults (300-600 s) would hold decisions for minutes.
    expect(logs.reporting.min_delay_seconds).toBeGreaterThan(0);
    expect(logs.reporting.max_delay_seconds).toBeGreaterThanOrEqual(logs.reporting.min_delay_seconds);
    expect(logs.reporting.max_delay_seconds).toBeLessThanOrEqual(10);
    expect(logs.reporting.buffer_size_limit_bytes).toBeGreaterThan(0);
    // decision_logs.resource is left to OPA's default, /logs: the control plane's route.
    expect(logs).not.toHaveProperty('resource');
  });

  it('the mask erases the pod token, authorization, cookie and the body from real OPA-Envoy inputs, and nothing the audit needs', () => {
    const pointers = maskPointers(maskRego());
    const headers = '/input/attributes/request/http/headers/';
    for (const needed of [POD_TOKEN_HEADER, 'authorization', 'cookie']) expect(pointers).toContain(`${headers}${needed}`);
    const recording = JSON.parse(readFileSync(join(REPO_ROOT, 'libs/policy/src/conformance/opa-1.9.0-decisions.json'), 'utf8')) as { records: Array<{ input?: Record<string, unknown> }> };
    const input = structuredClone(recording.records.find((r) => (r.input?.attributes as { request?: unknown } | undefined)?.request)!.input!);
    const http = (input.attributes as { request: { http: Record<string, unknown> } }).request.http;
    const secret = 'p'.repeat(43);
    http.headers = { ...(http.headers as object), [POD_TOKEN_HEADER]: secret, authorization: `Bearer ${secret}`, cookie: `s=${secret}`, 'x-request-id': 'r-1' };
    http.body = secret;
    http.raw_body = Buffer.from(secret).toString('base64');
    input.parsed_body = { secret };
    const event: Record<string, unknown> = { decision_id: 'd', path: 'reelmesh/authz/allow', input, result: true, timestamp: new Date().toISOString() };
    for (const pointer of pointers) erase(event, pointer);
    const logged = JSON.stringify(event);
    expect(logged).not.toContain(secret);
    expect(logged).not.toContain(Buffer.from(secret).toString('base64'));
    // What the audit is for stays: who called whom, how, where.
    expect(event).toMatchObject({ input: { attributes: { source: expect.any(Object), destination: expect.any(Object), request: { http: { method: 'POST', path: expect.stringMatching(/^\/v1\/handoffs\//), headers: { 'x-request-id': 'r-1' } } } } } });
  });

  it("ships in the owner's signed bundle, whose manifest roots cover every Rego package (mask included)", () => {
    const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    const { archive } = signPolicyDirectory({ policyDir: POLICY_DIR, privateKey: privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(), revision: 1 });
    const bundle = verifyBundle(archive, publicKey.export({ type: 'spki', format: 'pem' }).toString());
    const roots = bundle.manifest.roots ?? [];
    expect(roots).toContain('system/log');
    const sources = [...bundle.files].filter(([name]) => name.endsWith('.rego')).map(([, bytes]) => bytes.toString('utf8'));
    expect(sources).toContain(maskRego());
    for (const source of sources) {
      const path = packageOf(source).split('.').join('/');
      expect(roots.some((root) => path === root || path.startsWith(`${root}/`)), `${path} under a root of ${roots.join(', ')}`).toBe(true);
    }
    // Roots must not overlap (OPA refuses overlapping roots across bundles and within one).
    for (const a of roots) for (const b of roots) if (a !== b) expect(b.startsWith(`${a}/`)).toBe(false);
  });
});
