/** One access key of the local KMS: the SigV4 secret and the principal it authenticates as. */
export interface PrincipalCredential {
  secretAccessKey: string;
  /** e.g. `agent/vfx-2`; key policies name this. */
  principal: string;
}

/** accessKeyId -> credential. */
export type PrincipalMap = Record<string, PrincipalCredential>;

/** A Map copy, so access key ids like `__proto__` or `constructor` are never inherited lookups. */
export function principalDirectory(principals: PrincipalMap): Map<string, PrincipalCredential> {
  const directory = new Map<string, PrincipalCredential>();
  for (const [accessKeyId, credential] of Object.entries(principals)) {
    if (!accessKeyId || !credential?.secretAccessKey || !credential.principal) {
      throw new Error(`principal entry ${JSON.stringify(accessKeyId)} needs secretAccessKey and principal`);
    }
    directory.set(accessKeyId, { secretAccessKey: credential.secretAccessKey, principal: credential.principal });
  }
  return directory;
}
