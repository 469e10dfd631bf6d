import { KmsError } from './errors';
import type { KeyStore, StoredKey } from './key-store';

/** Where ARNs point: one local "account" in one local "region". */
export interface ArnScope {
  region: string;
  accountId: string;
}

export function keyArn(scope: ArnScope, keyId: string): string {
  return `arn:aws:kms:${scope.region}:${scope.accountId}:key/${keyId}`;
}

export function aliasArn(scope: ArnScope, alias: string): string {
  return `arn:aws:kms:${scope.region}:${scope.accountId}:${alias}`;
}

const ALIAS_NAME = /^alias\/[a-zA-Z0-9/_-]{1,250}$/;
const ARN = /^arn:aws:kms:[a-z0-9-]+:(\d{12}):(key\/.+|alias\/.+)$/;

export function assertAliasName(name: string): void {
  if (!ALIAS_NAME.test(name)) {
    throw new KmsError('ValidationException', 'AliasName must match alias/[a-zA-Z0-9/_-]+');
  }
  if (name.startsWith('alias/aws/')) {
    throw new KmsError('ValidationException', 'Alias names beginning with alias/aws/ are reserved');
  }
}

/**
 * Resolves a KeyId parameter as AWS does: key id, key ARN, alias name or alias ARN.
 * `allowAlias: false` for parameters AWS restricts to keys (e.g. CreateAlias's TargetKeyId).
 */
export function resolveKey(store: KeyStore, scope: ArnScope, ref: string, { allowAlias = true } = {}): StoredKey {
  let target = ref;
  const arn = ARN.exec(ref);
  if (arn) {
    if (arn[1] !== scope.accountId) throw notFound(ref);
    target = arn[2];
  }
  let keyId = target.startsWith('key/') ? target.slice(4) : target;
  if (target.startsWith('alias/')) {
    if (!allowAlias) throw new KmsError('ValidationException', `${ref} must name a key, not an alias`);
    const alias = store.getAlias(target);
    if (!alias) throw notFound(ref);
    keyId = alias.keyId;
  }
  const key = store.getKey(keyId);
  if (!key) throw notFound(ref);
  return key;
}

function notFound(ref: string): KmsError {
  return new KmsError('NotFoundException', `Key '${ref}' does not exist`);
}
