/**
 * CPU time of a process (all its threads, user + system) from /proc, so the
 * raft bench can report CPU per commit for each node process. Linux only:
 * elsewhere it returns null and the bench leaves the figure out.
 */
import fs from 'node:fs';

// USER_HZ: the unit of utime/stime in /proc/<pid>/stat; 100 on every Linux
// architecture Node supports (the kernel ABI fixes it, whatever CONFIG_HZ is).
const USER_HZ = 100;

export function processCpu_ms(pid: number): number | null {
  let stat: string;
  try {
    stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
  } catch {
    return null;
  }
  // Fields after the command name, which is in parentheses and may hold spaces.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const utime = Number(fields[11]);
  const stime = Number(fields[12]);
  if (!Number.isFinite(utime) || !Number.isFinite(stime)) return null;
  return ((utime + stime) * 1000) / USER_HZ;
}
