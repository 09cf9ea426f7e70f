import { readFileSync, readdirSync } from 'node:fs';

/** Linux reports process CPU time in clock ticks of 1/100 s. */
const TICKS_PER_SECOND = 100;

interface ProcStat {
  pid: number;
  ppid: number;
  cpuSeconds: number;
}

function readStats(): ProcStat[] {
  const stats: ProcStat[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      // After "pid (comm) ": state is field 0, ppid 1, utime 11, stime 12.
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      stats.push({ pid: Number(entry), ppid: Number(fields[1]), cpuSeconds: (Number(fields[11]) + Number(fields[12])) / TICKS_PER_SECOND });
    } catch {
      // the process ended while we looked
    }
  }
  return stats;
}

/** `rootPid` and every process below it (render children and the like), from /proc. */
function tree(rootPid: number): ProcStat[] {
  const stats = readStats();
  const inTree = new Set([rootPid]);
  for (let grew = true; grew; ) {
    grew = false;
    for (const stat of stats) {
      if (!inTree.has(stat.pid) && inTree.has(stat.ppid)) {
        inTree.add(stat.pid);
        grew = true;
      }
    }
  }
  return stats.filter((stat) => inTree.has(stat.pid));
}

/** CPU seconds used so far by a process and all its descendants still alive (Linux /proc, 10 ms resolution). */
export function processTreeCpuSeconds(rootPid: number): number {
  return tree(rootPid).reduce((sum, stat) => sum + stat.cpuSeconds, 0);
}

/** Pids of the processes below `rootPid`. */
export function descendantsOf(rootPid: number): number[] {
  return tree(rootPid)
    .map((stat) => stat.pid)
    .filter((pid) => pid !== rootPid);
}

/** SIGKILLs those of `pids` still alive (leftovers of a process that was killed itself); returns how many were. */
export function killLeftovers(pids: number[]): number {
  let killed = 0;
  for (const pid of pids) {
    try {
      process.kill(pid, 'SIGKILL');
      killed++;
    } catch {
      // already gone
    }
  }
  return killed;
}
