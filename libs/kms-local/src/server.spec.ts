import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import {
  CreateAliasCommand,
  CreateKeyCommand,
  DecryptCommand,
  DescribeKeyCommand,
  DisableKeyCommand,
  EnableKeyCommand,
  EncryptCommand,
  GenerateDataKeyCommand,
  GenerateDataKeyWithoutPlaintextCommand,
  ListAliasesCommand,
  KMSClient,
  ListKeysCommand,
} from '@aws-sdk/client-kms';
import { startLocalKms, type LocalKms } from './server';
import { clientAs, sdkClient, signedRequest, tempDir } from './kms-test-support';
import type { PrincipalMap } from './principals';

const principals: PrincipalMap = {
  AKOWNER: { secretAccessKey: 'owner-secret', principal: 'agent/owner' },
  AKVFX2: { secretAccessKey: 'vfx2-secret', principal: 'agent/vfx-2' },
  AKCOLOR: { secretAccessKey: 'color-secret', principal: 'agent/color' },
};

let kms: LocalKms;
let dir: Awaited<ReturnType<typeof tempDir>>;
let owner: KMSClient;
let vfx2: KMSClient;
let color: KMSClient;

/** A key only the owner may use, created over the wire like any SDK user would. */
async function ownerKey(alias?: string): Promise<string> {
  const created = await owner.send(new CreateKeyCommand({ Description: 'test key' }));
  const keyId = created.KeyMetadata?.KeyId as string;
  if (alias) await owner.send(new CreateAliasCommand({ AliasName: alias, TargetKeyId: keyId }));
  return keyId;
}

async function errorOf(promise: Promise<unknown>): Promise<Error & { $metadata?: { httpStatusCode?: number } }> {
  try {
    await promise;
  } catch (err) {
    return err as Error;
  }
  throw new Error('expected the call to fail');
}

beforeAll(async () => {
  dir = await tempDir();
  kms = await startLocalKms({ dataDir: dir.path, principals, keyCreators: ['agent/owner'] });
  owner = clientAs(kms, principals, 'agent/owner');
  vfx2 = clientAs(kms, principals, 'agent/vfx-2');
  color = clientAs(kms, principals, 'agent/color');
});

afterAll(async () => {
  for (const c of [owner, vfx2, color]) c?.destroy();
  await kms?.stop();
  await dir?.cleanup();
});

describe('local KMS through the AWS SDK: operations', () => {
  it('CreateKey and DescribeKey by id, ARN, alias and alias ARN', async () => {
    const created = await owner.send(new CreateKeyCommand({ Description: 'footage' }));
    const meta = created.KeyMetadata;
    expect(meta).toMatchObject({ Enabled: true, KeyState: 'Enabled', KeyUsage: 'ENCRYPT_DECRYPT', Description: 'footage' });
    expect(meta?.CreationDate).toBeInstanceOf(Date);
    const keyId = meta?.KeyId as string;
    await owner.send(new CreateAliasCommand({ AliasName: 'alias/test/describe', TargetKeyId: keyId }));
    for (const ref of [keyId, meta?.Arn, 'alias/test/describe', `arn:aws:kms:us-east-1:000000000000:alias/test/describe`]) {
      const described = await owner.send(new DescribeKeyCommand({ KeyId: ref }));
      expect(described.KeyMetadata?.KeyId, String(ref)).toBe(keyId);
    }
  });

  it('CreateKey with a key policy document, enforced for other principals', async () => {
    const policy = {
      version: 1,
      statements: [
        { principals: ['agent/owner'], actions: ['*'] },
        { principals: ['agent/vfx-2'], actions: ['Encrypt'] },
      ],
    };
    const created = await owner.send(new CreateKeyCommand({ Policy: JSON.stringify(policy) }));
    const KeyId = created.KeyMetadata?.KeyId as string;
    const sealed = await vfx2.send(new EncryptCommand({ KeyId, Plaintext: Buffer.from('x') }));
    expect((await errorOf(vfx2.send(new DecryptCommand({ CiphertextBlob: sealed.CiphertextBlob })))).name).toBe('AccessDeniedException');
    expect((await errorOf(color.send(new EncryptCommand({ KeyId, Plaintext: Buffer.from('x') })))).name).toBe('AccessDeniedException');
  });

  it('CreateKey refuses callers that are not key creators, and malformed policies', async () => {
    expect((await errorOf(vfx2.send(new CreateKeyCommand({})))).name).toBe('AccessDeniedException');
    const bad = await errorOf(owner.send(new CreateKeyCommand({ Policy: JSON.stringify({ version: 1, statements: [{ principals: ['x'], actions: ['Nope'] }] }) })));
    expect(bad.name).toBe('MalformedPolicyDocumentException');
    expect((await errorOf(owner.send(new CreateKeyCommand({ Policy: '{not json' })))).name).toBe('MalformedPolicyDocumentException');
  });

  it('CreateAlias: duplicate -> AlreadyExistsException, reserved or malformed -> ValidationException', async () => {
    const keyId = await ownerKey('alias/test/dup');
    expect((await errorOf(owner.send(new CreateAliasCommand({ AliasName: 'alias/test/dup', TargetKeyId: keyId })))).name).toBe(
      'AlreadyExistsException',
    );
    for (const AliasName of ['alias/aws/x', 'not-an-alias', 'alias/has space']) {
      expect((await errorOf(owner.send(new CreateAliasCommand({ AliasName, TargetKeyId: keyId })))).name, AliasName).toBe(
        'ValidationException',
      );
    }
    // Only principals the key policy allows may alias it.
    expect((await errorOf(vfx2.send(new CreateAliasCommand({ AliasName: 'alias/test/steal', TargetKeyId: keyId })))).name).toBe(
      'AccessDeniedException',
    );
  });

  it('ListAliases and ListKeys show only keys whose policy names the caller, with paging', async () => {
    const keyId = await ownerKey('alias/test/listed');
    const mine = await owner.send(new ListAliasesCommand({}));
    expect(mine.Aliases?.map((a) => a.AliasName)).toContain('alias/test/listed');
    const filtered = await owner.send(new ListAliasesCommand({ KeyId: keyId }));
    expect(filtered.Aliases).toEqual([expect.objectContaining({ AliasName: 'alias/test/listed', TargetKeyId: keyId })]);
    const theirs = await color.send(new ListAliasesCommand({}));
    expect(theirs.Aliases?.map((a) => a.AliasName)).not.toContain('alias/test/listed');

    const all = await owner.send(new ListKeysCommand({}));
    expect(all.Keys?.map((k) => k.KeyId)).toContain(keyId);
    expect((await color.send(new ListKeysCommand({}))).Keys).toEqual([]);
    const first = await owner.send(new ListKeysCommand({ Limit: 1 }));
    expect(first.Keys).toHaveLength(1);
    expect(first.Truncated).toBe(true);
    const second = await owner.send(new ListKeysCommand({ Limit: 1, Marker: first.NextMarker }));
    expect(second.Keys?.[0].KeyId).not.toBe(first.Keys?.[0].KeyId);
  });

  it('Encrypt and Decrypt with an encryption context; Decrypt finds the key in the blob', async () => {
    const keyId = await ownerKey('alias/test/crypt');
    const EncryptionContext = { workflow: 'feature-film', object: 'chunk-7' };
    const sealed = await owner.send(new EncryptCommand({ KeyId: 'alias/test/crypt', Plaintext: Buffer.from('secret'), EncryptionContext }));
    expect(sealed.KeyId).toContain(keyId);
    expect(Buffer.from(sealed.CiphertextBlob as Uint8Array).toString('utf8')).not.toContain('secret');

    const opened = await owner.send(new DecryptCommand({ CiphertextBlob: sealed.CiphertextBlob, EncryptionContext }));
    expect(Buffer.from(opened.Plaintext as Uint8Array).toString('utf8')).toBe('secret');
    expect(opened.KeyId).toContain(keyId);
    const withKey = await owner.send(new DecryptCommand({ CiphertextBlob: sealed.CiphertextBlob, EncryptionContext, KeyId: 'alias/test/crypt' }));
    expect(Buffer.from(withKey.Plaintext as Uint8Array).toString('utf8')).toBe('secret');
  });

  it('Decrypt: wrong context -> InvalidCiphertextException; KeyId of another key -> IncorrectKeyException', async () => {
    const keyId = await ownerKey();
    const other = await ownerKey();
    const sealed = await owner.send(new EncryptCommand({ KeyId: keyId, Plaintext: Buffer.from('s'), EncryptionContext: { object: 'a' } }));
    for (const EncryptionContext of [{ object: 'b' }, {}, { object: 'a', extra: 'x' }] as Record<string, string>[]) {
      expect((await errorOf(owner.send(new DecryptCommand({ CiphertextBlob: sealed.CiphertextBlob, EncryptionContext })))).name).toBe(
        'InvalidCiphertextException',
      );
    }
    const wrongKey = await errorOf(owner.send(new DecryptCommand({ CiphertextBlob: sealed.CiphertextBlob, EncryptionContext: { object: 'a' }, KeyId: other })));
    expect(wrongKey.name).toBe('IncorrectKeyException');
    expect((await errorOf(owner.send(new DecryptCommand({ CiphertextBlob: Buffer.from('garbage-garbage-garbage') })))).name).toBe(
      'InvalidCiphertextException',
    );
  });

  it('GenerateDataKey returns a plaintext key and its wrapped copy', async () => {
    const keyId = await ownerKey();
    const EncryptionContext = { object: 'o1' };
    const dk = await owner.send(new GenerateDataKeyCommand({ KeyId: keyId, KeySpec: 'AES_256', EncryptionContext }));
    expect(dk.Plaintext).toHaveLength(32);
    const unwrapped = await owner.send(new DecryptCommand({ CiphertextBlob: dk.CiphertextBlob, EncryptionContext }));
    expect(Buffer.from(unwrapped.Plaintext as Uint8Array)).toEqual(Buffer.from(dk.Plaintext as Uint8Array));

    const sized = await owner.send(new GenerateDataKeyCommand({ KeyId: keyId, NumberOfBytes: 64 }));
    expect(sized.Plaintext).toHaveLength(64);
    expect((await owner.send(new GenerateDataKeyCommand({ KeyId: keyId, KeySpec: 'AES_128' }))).Plaintext).toHaveLength(16);
    for (const bad of [{}, { KeySpec: 'AES_256' as const, NumberOfBytes: 32 }, { NumberOfBytes: 2048 }]) {
      expect((await errorOf(owner.send(new GenerateDataKeyCommand({ KeyId: keyId, ...bad })))).name, JSON.stringify(bad)).toBe(
        'ValidationException',
      );
    }
  });

  it('GenerateDataKeyWithoutPlaintext returns only the wrapped key', async () => {
    const keyId = await ownerKey();
    const dk = await owner.send(new GenerateDataKeyWithoutPlaintextCommand({ KeyId: keyId, KeySpec: 'AES_256', EncryptionContext: { o: '1' } }));
    expect('Plaintext' in dk).toBe(false);
    const unwrapped = await owner.send(new DecryptCommand({ CiphertextBlob: dk.CiphertextBlob, EncryptionContext: { o: '1' } }));
    expect(unwrapped.Plaintext).toHaveLength(32);
  });

  it('DisableKey -> DisabledException on use; EnableKey restores it', async () => {
    const keyId = await ownerKey();
    const sealed = await owner.send(new EncryptCommand({ KeyId: keyId, Plaintext: Buffer.from('s') }));
    await owner.send(new DisableKeyCommand({ KeyId: keyId }));
    expect((await owner.send(new DescribeKeyCommand({ KeyId: keyId }))).KeyMetadata?.KeyState).toBe('Disabled');
    expect((await errorOf(owner.send(new EncryptCommand({ KeyId: keyId, Plaintext: Buffer.from('s') })))).name).toBe('DisabledException');
    expect((await errorOf(owner.send(new DecryptCommand({ CiphertextBlob: sealed.CiphertextBlob })))).name).toBe('DisabledException');
    expect((await errorOf(owner.send(new GenerateDataKeyCommand({ KeyId: keyId, KeySpec: 'AES_256' })))).name).toBe('DisabledException');
    await owner.send(new EnableKeyCommand({ KeyId: keyId }));
    expect((await owner.send(new DecryptCommand({ CiphertextBlob: sealed.CiphertextBlob }))).Plaintext).toHaveLength(1);
  });

  it('unknown keys -> NotFoundException; wrong principal -> AccessDeniedException', async () => {
    for (const KeyId of ['alias/test/none', '00000000-0000-0000-0000-000000000000', 'arn:aws:kms:us-east-1:999999999999:alias/test/crypt']) {
      expect((await errorOf(owner.send(new DescribeKeyCommand({ KeyId })))).name, KeyId).toBe('NotFoundException');
    }
    const keyId = await ownerKey();
    const sealed = await owner.send(new EncryptCommand({ KeyId: keyId, Plaintext: Buffer.from('s') }));
    const denied = await errorOf(vfx2.send(new DecryptCommand({ CiphertextBlob: sealed.CiphertextBlob })));
    expect(denied.name).toBe('AccessDeniedException');
    expect(denied.message).toContain('agent/vfx-2');
    expect(denied.$metadata?.httpStatusCode).toBe(400);
    for (const call of [
      vfx2.send(new DescribeKeyCommand({ KeyId: keyId })),
      vfx2.send(new EncryptCommand({ KeyId: keyId, Plaintext: Buffer.from('s') })),
      vfx2.send(new GenerateDataKeyCommand({ KeyId: keyId, KeySpec: 'AES_256' })),
      vfx2.send(new DisableKeyCommand({ KeyId: keyId })),
    ]) {
      expect((await errorOf(call)).name).toBe('AccessDeniedException');
    }
  });
});

describe('local KMS through the AWS SDK: authentication', () => {
  it('wrong secret -> InvalidSignatureException', async () => {
    const client = sdkClient(kms, 'AKOWNER', 'not-the-secret');
    expect((await errorOf(client.send(new ListKeysCommand({})))).name).toBe('InvalidSignatureException');
    client.destroy();
  });

  it('unknown access key -> UnrecognizedClientException', async () => {
    const client = sdkClient(kms, 'AKNOBODY', 'whatever');
    expect((await errorOf(client.send(new ListKeysCommand({})))).name).toBe('UnrecognizedClientException');
    client.destroy();
  });

  it('a skewed client clock is refused, then corrected by the SDK from our Date header, as with AWS', async () => {
    const client = new KMSClient({
      endpoint: kms.endpoint,
      region: 'us-east-1',
      credentials: { accessKeyId: 'AKOWNER', secretAccessKey: 'owner-secret' },
      systemClockOffset: -15 * 60_000,
      maxAttempts: 2,
    });
    const listed = await client.send(new ListKeysCommand({}));
    expect(listed.$metadata.attempts).toBe(2);
    expect(Math.abs(client.config.systemClockOffset ?? 0)).toBeLessThan(5 * 60_000);
    client.destroy();
  });

  it('access key ids are not looked up on the prototype', async () => {
    const client = sdkClient(kms, 'constructor', 'x');
    expect((await errorOf(client.send(new ListKeysCommand({})))).name).toBe('UnrecognizedClientException');
    client.destroy();
  });
});

describe('local KMS wire errors (raw signed requests)', () => {
  const asOwner = { accessKeyId: 'AKOWNER', secretAccessKey: 'owner-secret' };

  function expectKmsError(res: { status: number; headers: Record<string, unknown>; json: Record<string, unknown> }, type: string, status = 400) {
    expect(res.status).toBe(status);
    expect(res.headers['x-amzn-errortype']).toBe(type);
    expect(res.headers['content-type']).toBe('application/x-amz-json-1.1');
    expect(res.json).toEqual({ __type: type, message: expect.any(String) });
  }

  it('a signed but malformed body -> SerializationException', async () => {
    const res = await signedRequest(kms, { ...asOwner, target: 'TrentService.ListKeys', body: '{"Limit": ' });
    expectKmsError(res, 'SerializationException');
    const array = await signedRequest(kms, { ...asOwner, target: 'TrentService.ListKeys', body: '[1,2]' });
    expectKmsError(array, 'SerializationException');
    const wrongType = await signedRequest(kms, { ...asOwner, target: 'TrentService.ListKeys', contentType: 'application/json' });
    expectKmsError(wrongType, 'SerializationException');
  });

  it('an unknown or missing target -> UnknownOperationException', async () => {
    for (const target of ['TrentService.DeleteEverything', 'TrentService.constructor', 'Other.ListKeys']) {
      expectKmsError(await signedRequest(kms, { ...asOwner, target }), 'UnknownOperationException');
    }
  });

  it('fields of the wrong type -> ValidationException', async () => {
    const res = await signedRequest(kms, { ...asOwner, target: 'TrentService.Encrypt', body: '{"KeyId": 5, "Plaintext": "aGk="}' });
    expectKmsError(res, 'ValidationException');
    const notBase64 = await signedRequest(kms, { ...asOwner, target: 'TrentService.Encrypt', body: '{"KeyId": "alias/test/crypt", "Plaintext": "%%%"}' });
    expectKmsError(notBase64, 'ValidationException');
  });

  it('no Authorization -> MissingAuthenticationTokenException; tampered body -> InvalidSignatureException', async () => {
    const unsigned = await signedRequest(kms, {
      ...asOwner,
      target: 'TrentService.ListKeys',
      afterSigning: (req) => delete req.headers.authorization,
    });
    expectKmsError(unsigned, 'MissingAuthenticationTokenException');
    const tampered = await signedRequest(kms, {
      ...asOwner,
      target: 'TrentService.ListKeys',
      body: '{"Limit":1}',
      afterSigning: (req) => {
        req.body = '{"Limit":2}';
      },
    });
    expectKmsError(tampered, 'InvalidSignatureException');
  });

  it('a signature older than five minutes -> InvalidSignatureException (signature expired)', async () => {
    const res = await signedRequest(kms, { ...asOwner, target: 'TrentService.ListKeys', signingDate: new Date(Date.now() - 10 * 60_000) });
    expectKmsError(res, 'InvalidSignatureException');
    expect(res.json.message).toMatch(/expired/);
  });

  it('an oversized body is refused without reading it all, and the connection is closed', async () => {
    const res = await signedRequest(kms, { ...asOwner, target: 'TrentService.ListKeys', body: `{"x":"${'a'.repeat(70_000)}"}` });
    expectKmsError(res, 'ValidationException', 413);
    expect(res.json.message).toBe('KMS request body is larger than 65536 bytes');
    expect(res.headers.connection).toBe('close');
  });
});
