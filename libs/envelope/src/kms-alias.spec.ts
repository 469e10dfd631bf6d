// Keys named by alias or key ARN, and credentials from the SDK's default chain, against the real
// local KMS (the AWS protocol, SigV4, key policies): what Compose/kind (aliases), multi-cluster
// (key ARNs) and EKS with IRSA (no static keys) rely on.
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
// The local KMS is the dev/test platform: the envelope lib itself never imports it.
// eslint-disable-next-line @nx/enforce-module-boundaries
import { startLocalKms, type LocalKms } from '@reelmesh/kms-local';
import { KmsDataKeyProvider, type KmsDataKeyProviderOptions } from './index';
import { expectEnvelopeError, open, seal } from './test-support';

const principals = { AKIDOWNER: { secretAccessKey: 'owner-secret', principal: 'agent/owner' } };
const ALIAS = 'alias/reelmesh/owner/workflow';
const OTHER = 'alias/reelmesh/fx/assets';
const CREDENTIALS = { accessKeyId: 'AKIDOWNER', secretAccessKey: 'owner-secret' };

describe('KMS keys by alias and key ARN, credentials from the default chain (local KMS)', () => {
  let dataDir: string;
  let kms: LocalKms;
  const providers: KmsDataKeyProvider[] = [];
  const provider = (options: Partial<KmsDataKeyProviderOptions>) => {
    const p = new KmsDataKeyProvider({ endpoint: kms.endpoint, region: kms.region, credentials: CREDENTIALS, keyId: ALIAS, maxAttempts: 1, ...options });
    providers.push(p);
    return p;
  };

  beforeAll(async () => {
    dataDir = await mkdtemp(join(tmpdir(), 'envelope-alias-'));
    kms = await startLocalKms({ dataDir, principals });
    const policy = { version: 1 as const, statements: [{ principals: ['agent/owner'], actions: ['DescribeKey', 'GenerateDataKey', 'Decrypt'] }] };
    await kms.admin.createKey({ alias: ALIAS, description: 'workflow key', policy });
    await kms.admin.createKey({ alias: OTHER, description: 'another key the reader may use', policy });
  });
  afterAll(async () => {
    for (const p of providers) p.destroy();
    await kms?.stop();
    await rm(dataDir, { recursive: true, force: true });
  });

  it('opens, in a NEW provider given the alias, what another instance sealed under the alias (a restart)', async () => {
    const plaintext = randomBytes(50_000);
    const sealed = await seal(plaintext, { provider: provider({}) });
    // Before: the header names the key ARN, the new reader knew only the alias -> ENVELOPE_KEY_NOT_ALLOWED.
    expect((await open(sealed, { provider: provider({ allowedKeyIds: [ALIAS] }) })).equals(plaintext)).toBe(true);
    // keyId alone is allowed too, and resolved the same way.
    expect((await open(sealed, { provider: provider({}) })).equals(plaintext)).toBe(true);
  });

  it('still refuses a header naming a key that no allowed alias resolves to', async () => {
    const sealedUnderOther = await seal(randomBytes(1000), { provider: provider({ keyId: OTHER }) });
    const reader = provider({ allowedKeyIds: [ALIAS] });
    await expectEnvelopeError(open(sealedUnderOther, { provider: reader }), 'ENVELOPE_KEY_NOT_ALLOWED');
    expect(reader.stats.decrypt).toBe(0);
  });

  it('takes alias ARNs and key ARNs (another account names its key by ARN)', async () => {
    const { arn } = kms.admin.describeKey(ALIAS);
    const plaintext = randomBytes(4096);
    const sealed = await seal(plaintext, { provider: provider({ keyId: arn }) });
    const aliasArn = arn.replace(/key\/.+$/, ALIAS);
    expect((await open(sealed, { provider: provider({ keyId: OTHER, allowedKeyIds: [aliasArn] }) })).equals(plaintext)).toBe(true);
    expect((await open(sealed, { provider: provider({ keyId: OTHER, allowedKeyIds: [arn] }) })).equals(plaintext)).toBe(true);
  });

  describe('without static credentials', () => {
    const saved = { id: process.env.AWS_ACCESS_KEY_ID, secret: process.env.AWS_SECRET_ACCESS_KEY };
    afterEach(() => {
      for (const [name, value] of [['AWS_ACCESS_KEY_ID', saved.id], ['AWS_SECRET_ACCESS_KEY', saved.secret]] as const) {
        if (value === undefined) delete process.env[name];
        else process.env[name] = value;
      }
    });

    it('uses the SDK default chain: AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY from the environment', async () => {
      process.env.AWS_ACCESS_KEY_ID = CREDENTIALS.accessKeyId;
      process.env.AWS_SECRET_ACCESS_KEY = CREDENTIALS.secretAccessKey;
      const plaintext = randomBytes(2048);
      const sealed = await seal(plaintext, { provider: provider({ credentials: undefined }) });
      expect((await open(sealed, { provider: provider({ credentials: undefined }) })).equals(plaintext)).toBe(true);
    });

    it('and that chain is what signs: wrong environment credentials are refused by the KMS', async () => {
      process.env.AWS_ACCESS_KEY_ID = CREDENTIALS.accessKeyId;
      process.env.AWS_SECRET_ACCESS_KEY = 'not-the-secret';
      await expectEnvelopeError(seal(randomBytes(10), { provider: provider({ credentials: undefined }) }), 'ENVELOPE_KMS_DENIED');
    });
  });
});
