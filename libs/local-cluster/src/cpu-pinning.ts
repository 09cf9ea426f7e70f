import { spawnSync } from 'node:child_process';

/** True when `taskset` (util-linux) can pin processes to cores here. */
export function canPinCpus(): boolean {
  return process.platform === 'linux' && spawnSync('sh', ['-c', 'command -v taskset'], { encoding: 'utf8' }).status === 0;
}

/**
 * Cores for worker number `index` when each worker owns `coresPerWorker` of `totalCores`: workers
 * take consecutive blocks and wrap around when there are more workers than cores.
 */
export function coresFor(index: number, coresPerWorker: number, totalCores: number): number[] {
  const per = Math.max(1, Math.min(coresPerWorker, totalCores));
  const blocks = Math.max(1, Math.floor(totalCores / per));
  const first = (index % blocks) * per;
  return Array.from({ length: per }, (_, i) => first + i);
}

/** The command line that runs `command args` pinned to `cores` (unchanged when pinning is not possible). */
export function pinnedCommand(command: string, args: string[], cores: number[] | null): { command: string; args: string[] } {
  if (!cores) return { command, args };
  return { command: 'taskset', args: ['--cpu-list', cores.join(','), command, ...args] };
}

/** The command line that runs `command args` at a lower CPU priority where `nice` exists (Linux, macOS). */
export function nicedCommand(command: string, args: string[], niceness = 10): { command: string; args: string[] } {
  if (process.platform === 'win32') return { command, args };
  return { command: 'nice', args: ['-n', String(niceness), command, ...args] };
}
