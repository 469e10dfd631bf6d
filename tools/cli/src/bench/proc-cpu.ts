import { readFileSync } from 'node:fs';

/**
 * CPU seconds (user + system) of a process from /proc/<pid>/stat (Linux): its own, or those of
 * its children that have exited and been waited for. Undefined where /proc does not tell (another
 * OS, a process that is gone).
 */
export function procCpuSeconds(pid: number | 'self', which: 'own' | 'children' = 'own'): number | undefined {
  try {
    // Fields after the command name: state is field 3; utime, stime, cutime, cstime are fields
    // 14-17, in clock ticks (USER_HZ, 100 on Linux).
    const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
    const [user, system] = which === 'own' ? [fields[11], fields[12]] : [fields[13], fields[14]];
    const ticks = Number(user) + Number(system);
    return Number.isFinite(ticks) ? ticks / 100 : undefined;
  } catch {
    return undefined;
  }
}
