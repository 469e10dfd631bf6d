import { createHash } from 'node:crypto';
import { HttpError, request } from '@reelmesh/http-kit';
import { BundleError, canonicalJson, verifyBundle } from '@reelmesh/provenance';

export interface PolicyInForce {
  revision: number;
  signed: boolean;
  sha256: string;
  /** Signed mode: the bundle manifest's revision and the archive's digest. */
  bundle?: { revision: string; sha256: string };
  /** Unsigned mode: the data document itself. */
  document?: unknown;
}

/** A policy sidecar the store keeps current: its base URL and the token it accepts pushes with. */
export interface PolicySidecarRef {
  agent: string;
  url: string;
  token: string;
}

/** The policy in force as the control plane's state file keeps it (see state.ts). */
export interface SavedPolicy {
  revision: number;
  /** Signed mode: the archive, base64, and its manifest revision. */
  bundle?: string;
  bundleRevision?: string;
  /** Unsigned mode: the data document. */
  document?: unknown;
}

export interface PushResult {
  agent: string;
  ok: boolean;
  status?: number;
  error?: string;
}

/**
 * The owner's policy store: holds the current data document (with a revision that only goes up)
 * and pushes it to every registered policy sidecar — at once when it changes, and to a sidecar
 * when it registers. A sidecar that cannot be reached keeps its last good policy (or, with none,
 * denies everything): the store never loosens anything by failing.
 */
export class PolicyStore {
  private document: unknown;
  /** The owner's signed OPA bundle, when policy is published signed (sidecars verify it). */
  private bundle: Buffer | undefined;
  /** The manifest revision of the current bundle (it only goes up). */
  private bundleRevision: string | undefined;
  private revisionNumber = 0;
  /** sha256 of the bundle archive, or of the data document's canonical JSON. */
  private digest: string | undefined;
  private readonly sidecars = new Map<string, PolicySidecarRef>();

  /**
   * With `bundleKey` the store is in signed-policy mode: it takes only bundles signed by the
   * owner's key with a newer revision, refuses unsigned data, and so never holds (or pushes to a
   * sidecar that registers later) anything but the owner's last good policy.
   */
  constructor(
    private readonly pushTimeoutMs = 2_000,
    private readonly bundleKey?: { publicKeyPem: string; keyId?: string },
    /**
     * Called after every change and awaited before any push: a policy a sidecar holds, or a sidecar
     * the store will push to, is never one a restart of the control plane forgets.
     */
    private readonly persist: () => Promise<void> = async () => undefined,
  ) {}

  /** What survives a restart: the policy in force and every registered sidecar (with its token). */
  saved(): { policy?: SavedPolicy; sidecars: PolicySidecarRef[] } {
    const sidecars = [...this.sidecars.values()].map((s) => ({ ...s }));
    if (this.bundle) return { sidecars, policy: { revision: this.revisionNumber, bundle: this.bundle.toString('base64'), bundleRevision: this.bundleRevision } };
    return { sidecars, policy: this.document === undefined ? undefined : { revision: this.revisionNumber, document: this.document } };
  }

  /**
   * Take back what `saved()` gave (on start). A saved bundle is verified again with the current key:
   * a state file cannot smuggle in a policy the owner did not sign, nor unsigned data into a store
   * in signed mode. Throws on either; the caller refuses to start.
   */
  restore(saved: { policy?: SavedPolicy; sidecars: PolicySidecarRef[] }): void {
    const { policy } = saved;
    if (policy?.bundle !== undefined) {
      const archive = Buffer.from(policy.bundle, 'base64');
      if (this.bundleKey) {
        const verified = verifyBundle(archive, this.bundleKey.publicKeyPem, { keyId: this.bundleKey.keyId });
        if (verified.revision !== policy.bundleRevision) throw new Error(`the saved bundle is revision ${verified.revision}, the state says ${String(policy.bundleRevision)}`);
      }
      this.bundle = archive;
      this.bundleRevision = policy.bundleRevision;
      this.digest = createHash('sha256').update(archive).digest('hex');
    } else if (policy) {
      if (this.bundleKey) throw new Error('it holds unsigned policy data, and this store takes only signed bundles');
      this.document = policy.document;
      this.digest = createHash('sha256').update(canonicalJson(policy.document)).digest('hex');
    }
    this.revisionNumber = policy?.revision ?? 0;
    for (const ref of saved.sidecars) this.sidecars.set(ref.agent, { ...ref });
  }

  get revision(): number {
    return this.revisionNumber;
  }

  /**
   * The policy in force: the store's revision counter, and what a deliverable's attestation names —
   * the signed bundle's manifest revision and the archive's sha256, or the data document's digest.
   */
  current(): PolicyInForce | undefined {
    if (this.bundle) return { revision: this.revisionNumber, signed: true, sha256: this.digest!, bundle: { revision: this.bundleRevision ?? '', sha256: this.digest! } };
    return this.document === undefined ? undefined : { revision: this.revisionNumber, document: this.document, signed: false, sha256: this.digest! };
  }

  /** Publish a signed bundle (tar.gz). The store does not need to trust it: every sidecar verifies it. */
  async publishBundle(archive: Buffer): Promise<{ revision: number; pushed: PushResult[] }> {
    if (archive.length < 2 || archive[0] !== 0x1f || archive[1] !== 0x8b) {
      throw new HttpError(400, 'BAD_REQUEST', 'a policy bundle must be a gzip-compressed tar (OPA bundle format)');
    }
    if (this.bundleKey) {
      try {
        const verified = verifyBundle(archive, this.bundleKey.publicKeyPem, { keyId: this.bundleKey.keyId, minRevision: this.bundleRevision });
        if (verified.revision === this.bundleRevision) throw new BundleError('BUNDLE_REVISION_REPLAYED', `bundle revision ${verified.revision} is the current one; revisions must increase`);
        this.bundleRevision = verified.revision;
      } catch (error) {
        if (!(error instanceof BundleError)) throw error;
        throw new HttpError(error.code === 'BUNDLE_REVISION_REPLAYED' ? 409 : 400, error.code, `policy store refused the bundle, keeping revision ${this.bundleRevision ?? '(none)'}: ${error.message}`);
      }
    }
    this.bundle = archive;
    this.document = undefined;
    this.digest = createHash('sha256').update(archive).digest('hex');
    return this.changed();
  }

  async publish(document: unknown): Promise<{ revision: number; pushed: PushResult[] }> {
    if (this.bundleKey) throw new HttpError(403, 'SIGNED_POLICY_ONLY', 'this policy store takes only bundles signed by the owner (PUT /v1/policy/bundle)');
    if (document === null || typeof document !== 'object' || Array.isArray(document)) {
      throw new HttpError(400, 'BAD_REQUEST', 'the policy data document must be a JSON object');
    }
    this.document = document;
    this.bundle = undefined;
    this.digest = createHash('sha256').update(canonicalJson(document)).digest('hex');
    return this.changed();
  }

  /**
   * Register (or re-register: a restarted sidecar comes back empty, maybe with a new token) a
   * sidecar; the current policy is pushed to it at once with the token given now.
   */
  async addSidecar(ref: PolicySidecarRef): Promise<PushResult | undefined> {
    this.sidecars.set(ref.agent, { ...ref });
    await this.persist();
    return this.document === undefined && !this.bundle ? undefined : this.push(ref);
  }

  /** A new policy is in force: a new revision, kept, then pushed to every sidecar. */
  private async changed(): Promise<{ revision: number; pushed: PushResult[] }> {
    this.revisionNumber++;
    const revision = this.revisionNumber;
    await this.persist();
    const pushed = await Promise.all([...this.sidecars.values()].map((s) => this.push(s)));
    return { revision, pushed };
  }

  listSidecars(): Array<{ agent: string; url: string }> {
    return [...this.sidecars.values()].map(({ agent, url }) => ({ agent, url }));
  }

  private async push(ref: PolicySidecarRef): Promise<PushResult> {
    try {
      const signed = this.bundle !== undefined;
      // The sidecar's URL may be a Unix socket inside the pod: the http-kit client reaches both.
      const res = await request(ref.url, signed ? '/v1/bundle' : '/v1/data/reelmesh', {
        method: 'PUT',
        headers: {
          authorization: `Bearer ${ref.token}`,
          'content-type': signed ? 'application/gzip' : 'application/json',
          'x-reelmesh-policy-revision': String(this.revisionNumber),
        },
        body: signed ? this.bundle : Buffer.from(JSON.stringify(this.document)),
        timeoutMs: this.pushTimeoutMs,
      });
      return { agent: ref.agent, ok: res.status >= 200 && res.status < 300, status: res.status };
    } catch (error) {
      return { agent: ref.agent, ok: false, error: (error as Error).message };
    }
  }
}
