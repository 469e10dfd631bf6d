import { randomBytes } from 'node:crypto';
import { lstat, readFile } from 'node:fs/promises';
import { writeFileAtomic } from '@reelmesh/storage';

export const MASTER_SECRET_BYTES = 32;

export class MasterSecretError extends Error {
  override name = 'MasterSecretError';
}

/**
 * Reads the master secret that seals the KMS state, creating it (mode 0600) only when asked.
 * Refuses a file that group or others can access, a symlink, or one of the wrong size.
 */
export async function loadMasterSecret(file: string, { create }: { create: boolean }): Promise<Buffer> {
  const info = await lstat(file).catch((err: NodeJS.ErrnoException) => {
    if (err.code === 'ENOENT') return undefined;
    throw err;
  });
  if (info === undefined) {
    if (!create) {
      throw new MasterSecretError(`master secret ${file} is missing but sealed state exists; refusing to start`);
    }
    return createMasterSecret(file);
  }
  if (!info.isFile()) throw new MasterSecretError(`master secret ${file} must be a regular file`);
  if ((info.mode & 0o077) !== 0) {
    const mode = (info.mode & 0o777).toString(8).padStart(3, '0');
    throw new MasterSecretError(`master secret ${file} has mode ${mode}; it must not be accessible to group or others (chmod 600)`);
  }
  const secret = await readFile(file);
  if (secret.length !== MASTER_SECRET_BYTES) {
    throw new MasterSecretError(`master secret ${file} must hold exactly ${MASTER_SECRET_BYTES} bytes`);
  }
  return secret;
}

async function createMasterSecret(file: string): Promise<Buffer> {
  const secret = randomBytes(MASTER_SECRET_BYTES);
  // Exclusive, so two processes never both create one; atomic, so a crash never leaves half a secret.
  await writeFileAtomic(file, secret, { mode: 0o600, exclusive: true });
  return secret;
}
