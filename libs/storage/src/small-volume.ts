// A real volume that really fills up: a size-capped tmpfs. For the specs of the full-volume path
// (ENOSPC -> nothing half-written, 507, the sender's retry) here and in @reelmesh/handoff; nothing
// at run time uses it. Mounting needs root on Linux; without it the caller skips loudly.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, statfsSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface SmallVolume {
  ok: true;
  /** Where the tmpfs is mounted. */
  dir: string;
  /** Bytes an unprivileged writer may still write. */
  freeBytes(): number;
  /** Write a file of zeros (outside any store) so that only about `leaveFree` bytes stay free; returns its path. */
  fill(leaveFree: number): string;
  /** Unmount and remove the mount point. */
  unmount(): void;
}

export type SmallVolumeResult = SmallVolume | { ok: false; reason: string };

/** Mount a tmpfs of `sizeBytes` (say 2 MiB) on a fresh temp dir, or say why it cannot be done. */
export function mountSmallVolume(sizeBytes: number): SmallVolumeResult {
  if (process.platform !== 'linux') return { ok: false, reason: `a tmpfs volume needs Linux (this is ${process.platform})` };
  if (process.getuid?.() !== 0) return { ok: false, reason: 'mounting a small tmpfs volume needs root' };
  const dir = mkdtempSync(join(tmpdir(), 'rm-small-volume-'));
  try {
    execFileSync('mount', ['-t', 'tmpfs', '-o', `size=${sizeBytes},mode=0700`, 'tmpfs', dir], { stdio: ['ignore', 'ignore', 'pipe'] });
  } catch (error) {
    rmSync(dir, { recursive: true, force: true });
    const stderr = String((error as { stderr?: unknown }).stderr ?? '').trim();
    return { ok: false, reason: `mount -t tmpfs failed: ${stderr || (error as Error).message}` };
  }
  const freeBytes = () => {
    const s = statfsSync(dir);
    return s.bavail * s.bsize;
  };
  let fillers = 0;
  return {
    ok: true,
    dir,
    freeBytes,
    fill(leaveFree) {
      const path = join(dir, `filler-${fillers++}`);
      writeFileSync(path, Buffer.alloc(Math.max(0, freeBytes() - leaveFree)));
      return path;
    },
    unmount() {
      execFileSync('umount', [dir]);
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
