import { randomBytes } from 'node:crypto';
import { blobKeyId, openBlob, sealBlob } from './ciphertext';
import { KmsError } from './errors';
import { aliasArn, assertAliasName, keyArn, resolveKey, type ArnScope } from './key-ref';
import type { KeyStore, StoredKey } from './key-store';
import { isAllowed, mentions, parseKeyPolicy, type Caller, type EncryptionContext, type KeyAction, type KeyPolicy } from './policy';
import {
  assertSymmetricAlgorithm,
  encryptionContext,
  optionalInteger,
  optionalString,
  requiredBlob,
  requiredString,
  type WireInput,
} from './wire-input';

export interface OperationContext {
  store: KeyStore;
  scope: ArnScope;
  caller: Caller;
  /** Whether this caller may create keys over the wire (key policies only cover existing keys). */
  canCreateKeys: boolean;
}

export type Operation = (input: WireInput, ctx: OperationContext) => Promise<Record<string, unknown>>;

const MAX_PLAINTEXT = 4096;
const MAX_CIPHERTEXT = 6144;

/** A policy allowing everything to one principal: what CreateKey uses when no policy is given. */
export function ownerOnlyPolicy(principal: string): KeyPolicy {
  return { version: 1, statements: [{ sid: 'creator', principals: [principal], actions: ['*'] }] };
}

export function keyMetadata(key: StoredKey, scope: ArnScope): Record<string, unknown> {
  return {
    AWSAccountId: scope.accountId,
    KeyId: key.keyId,
    Arn: keyArn(scope, key.keyId),
    CreationDate: key.createdAt.getTime() / 1000,
    Enabled: key.enabled,
    Description: key.description,
    KeyUsage: 'ENCRYPT_DECRYPT',
    KeyState: key.enabled ? 'Enabled' : 'Disabled',
    Origin: 'AWS_KMS',
    KeyManager: 'CUSTOMER',
    CustomerMasterKeySpec: 'SYMMETRIC_DEFAULT',
    KeySpec: 'SYMMETRIC_DEFAULT',
    EncryptionAlgorithms: ['SYMMETRIC_DEFAULT'],
    MultiRegion: false,
  };
}

function authorize(ctx: OperationContext, key: StoredKey, action: KeyAction, context?: EncryptionContext): void {
  if (isAllowed(key.policy, ctx.caller, action, context)) return;
  const withContext = context === undefined ? '' : ' with this encryption context';
  throw new KmsError(
    'AccessDeniedException',
    `User: ${ctx.caller.principal} is not authorized to perform: kms:${action} on resource: ${keyArn(ctx.scope, key.keyId)}${withContext}`,
  );
}

function requireEnabled(ctx: OperationContext, key: StoredKey): void {
  if (!key.enabled) throw new KmsError('DisabledException', `${keyArn(ctx.scope, key.keyId)} is disabled.`);
}

/** Resolve, authorize, then check the key is usable: the order AWS reports errors in. */
function keyFor(ctx: OperationContext, ref: string, action: KeyAction, context?: EncryptionContext): StoredKey {
  const key = resolveKey(ctx.store, ctx.scope, ref);
  authorize(ctx, key, action, context);
  return key;
}

function dataKeyLength(input: WireInput): number {
  const spec = optionalString(input, 'KeySpec');
  const bytes = optionalInteger(input, 'NumberOfBytes', 1, 1024);
  if ((spec === undefined) === (bytes === undefined)) {
    throw new KmsError('ValidationException', 'Specify exactly one of KeySpec or NumberOfBytes');
  }
  if (bytes !== undefined) return bytes;
  if (spec === 'AES_256') return 32;
  if (spec === 'AES_128') return 16;
  throw new KmsError('ValidationException', 'KeySpec must be AES_256 or AES_128');
}

async function generateDataKey(input: WireInput, ctx: OperationContext, action: KeyAction) {
  const context = encryptionContext(input);
  const length = dataKeyLength(input);
  const key = keyFor(ctx, requiredString(input, 'KeyId'), action, context);
  requireEnabled(ctx, key);
  const plaintext = randomBytes(length);
  return { key, plaintext, blob: sealBlob(key.keyId, key.material, plaintext, context) };
}

/** Cursor paging over a listing; the marker is an opaque offset. */
function page<T>(items: T[], input: WireInput, field: string, toWire: (item: T) => unknown) {
  const limit = optionalInteger(input, 'Limit', 1, 1000) ?? 100;
  const marker = optionalString(input, 'Marker');
  const start = marker === undefined ? 0 : Number.parseInt(marker, 10);
  if (!Number.isInteger(start) || start < 0 || String(start) !== (marker ?? '0')) {
    throw new KmsError('ValidationException', 'Marker is invalid');
  }
  const slice = items.slice(start, start + limit);
  const truncated = start + limit < items.length;
  return { [field]: slice.map(toWire), Truncated: truncated, ...(truncated ? { NextMarker: String(start + limit) } : {}) };
}

export const OPERATIONS: ReadonlyMap<string, Operation> = new Map<string, Operation>([
  [
    'CreateKey',
    async (input, ctx) => {
      if (!ctx.canCreateKeys) {
        throw new KmsError('AccessDeniedException', `User: ${ctx.caller.principal} is not authorized to perform: kms:CreateKey`);
      }
      for (const [field, only] of [
        ['KeyUsage', 'ENCRYPT_DECRYPT'],
        ['KeySpec', 'SYMMETRIC_DEFAULT'],
        ['CustomerMasterKeySpec', 'SYMMETRIC_DEFAULT'],
        ['Origin', 'AWS_KMS'],
      ] as const) {
        const value = optionalString(input, field);
        if (value !== undefined && value !== only) throw new KmsError('ValidationException', `${field} must be ${only}`);
      }
      const policyText = optionalString(input, 'Policy');
      const policy = policyText === undefined ? ownerOnlyPolicy(ctx.caller.principal) : parsePolicyText(policyText);
      const key = await ctx.store.createKey({ description: optionalString(input, 'Description'), policy });
      return { KeyMetadata: keyMetadata(key, ctx.scope) };
    },
  ],
  [
    'DescribeKey',
    async (input, ctx) => ({ KeyMetadata: keyMetadata(keyFor(ctx, requiredString(input, 'KeyId'), 'DescribeKey'), ctx.scope) }),
  ],
  [
    'CreateAlias',
    async (input, ctx) => {
      const name = requiredString(input, 'AliasName');
      assertAliasName(name);
      const key = resolveKey(ctx.store, ctx.scope, requiredString(input, 'TargetKeyId'), { allowAlias: false });
      authorize(ctx, key, 'CreateAlias');
      await ctx.store.createAlias(name, key.keyId);
      return {};
    },
  ],
  [
    'ListAliases',
    async (input, ctx) => {
      const keyRef = optionalString(input, 'KeyId');
      const onlyKey = keyRef === undefined ? undefined : resolveKey(ctx.store, ctx.scope, keyRef, { allowAlias: false });
      // Callers see only aliases of keys whose policy names them: other actors' keys stay invisible.
      const visible = ctx.store
        .listAliases()
        .filter((a) => onlyKey === undefined || a.keyId === onlyKey.keyId)
        .filter((a) => {
          const key = ctx.store.getKey(a.keyId);
          return key !== undefined && mentions(key.policy, ctx.caller);
        })
        .sort((a, b) => (a.name < b.name ? -1 : 1));
      return page(visible, input, 'Aliases', (a) => ({
        AliasName: a.name,
        AliasArn: aliasArn(ctx.scope, a.name),
        TargetKeyId: a.keyId,
        CreationDate: a.createdAt.getTime() / 1000,
      }));
    },
  ],
  [
    'ListKeys',
    async (input, ctx) => {
      const visible = ctx.store
        .listKeys()
        .filter((k) => mentions(k.policy, ctx.caller))
        .sort((a, b) => (a.keyId < b.keyId ? -1 : 1));
      return page(visible, input, 'Keys', (k) => ({ KeyId: k.keyId, KeyArn: keyArn(ctx.scope, k.keyId) }));
    },
  ],
  [
    'Encrypt',
    async (input, ctx) => {
      assertSymmetricAlgorithm(input);
      const plaintext = requiredBlob(input, 'Plaintext', 1, MAX_PLAINTEXT);
      const context = encryptionContext(input);
      const key = keyFor(ctx, requiredString(input, 'KeyId'), 'Encrypt', context);
      requireEnabled(ctx, key);
      return {
        CiphertextBlob: sealBlob(key.keyId, key.material, plaintext, context).toString('base64'),
        KeyId: keyArn(ctx.scope, key.keyId),
        EncryptionAlgorithm: 'SYMMETRIC_DEFAULT',
      };
    },
  ],
  [
    'Decrypt',
    async (input, ctx) => {
      assertSymmetricAlgorithm(input);
      const blob = requiredBlob(input, 'CiphertextBlob', 1, MAX_CIPHERTEXT);
      const context = encryptionContext(input);
      // The blob names its key; a KeyId parameter is only a check that it is the expected one.
      const blobKey = ctx.store.getKey(blobKeyId(blob));
      if (!blobKey) {
        throw new KmsError('InvalidCiphertextException', 'The ciphertext refers to a key that does not exist');
      }
      const keyRef = optionalString(input, 'KeyId');
      if (keyRef !== undefined && resolveKey(ctx.store, ctx.scope, keyRef).keyId !== blobKey.keyId) {
        throw new KmsError('IncorrectKeyException', 'The key ID in the request does not identify the key that encrypted the ciphertext');
      }
      authorize(ctx, blobKey, 'Decrypt', context);
      requireEnabled(ctx, blobKey);
      return {
        Plaintext: openBlob(blob, blobKey.material, context).toString('base64'),
        KeyId: keyArn(ctx.scope, blobKey.keyId),
        EncryptionAlgorithm: 'SYMMETRIC_DEFAULT',
      };
    },
  ],
  [
    'GenerateDataKey',
    async (input, ctx) => {
      const { key, plaintext, blob } = await generateDataKey(input, ctx, 'GenerateDataKey');
      return {
        CiphertextBlob: blob.toString('base64'),
        Plaintext: plaintext.toString('base64'),
        KeyId: keyArn(ctx.scope, key.keyId),
      };
    },
  ],
  [
    'GenerateDataKeyWithoutPlaintext',
    async (input, ctx) => {
      const { key, blob } = await generateDataKey(input, ctx, 'GenerateDataKeyWithoutPlaintext');
      return { CiphertextBlob: blob.toString('base64'), KeyId: keyArn(ctx.scope, key.keyId) };
    },
  ],
  [
    'EnableKey',
    async (input, ctx) => {
      const key = keyFor(ctx, requiredString(input, 'KeyId'), 'EnableKey');
      await ctx.store.updateKey(key.keyId, { enabled: true });
      return {};
    },
  ],
  [
    'DisableKey',
    async (input, ctx) => {
      const key = keyFor(ctx, requiredString(input, 'KeyId'), 'DisableKey');
      await ctx.store.updateKey(key.keyId, { enabled: false });
      return {};
    },
  ],
]);

function parsePolicyText(text: string): KeyPolicy {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    throw new KmsError('MalformedPolicyDocumentException', 'Policy must be JSON');
  }
  return parseKeyPolicy(parsed);
}
