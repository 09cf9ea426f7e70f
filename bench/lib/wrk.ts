import { execFile } from 'node:child_process';
import { promisify } from 'node:util';

const run = promisify(execFile);

export interface WrkResult {
  requests: number;
  perSecond: number;
  p50Ms: number;
  p99Ms: number;
  /** Non-2xx/3xx answers plus socket errors: a run with any is not a hit-path figure. */
  errors: number;
}

/** Whether `command` is on PATH (the hit-path bench needs wrk and nginx, Debian packages `wrk` and `nginx`). */
export async function hasCommand(command: string): Promise<boolean> {
  try {
    await run('sh', ['-c', `command -v ${command}`]);
    return true;
  } catch {
    return false;
  }
}

function milliseconds(text: string): number {
  const match = /^([\d.]+)(us|ms|s|m)$/.exec(text.trim());
  if (!match) throw new Error(`wrk latency not understood: ${text}`);
  const value = Number(match[1]);
  return match[2] === 'us' ? value / 1000 : match[2] === 'ms' ? value : match[2] === 's' ? value * 1000 : value * 60_000;
}

/** One wrk run (closed loop, keep-alive connections) against `url`, with its latency distribution. */
export async function runWrk(url: string, options: { threads: number; connections: number; seconds: number; headers?: Record<string, string> }): Promise<WrkResult> {
  const args = [`-t${options.threads}`, `-c${options.connections}`, `-d${options.seconds}s`, '--latency'];
  for (const [name, value] of Object.entries(options.headers ?? {})) args.push('-H', `${name}: ${value}`);
  const { stdout } = await run('wrk', [...args, url], { maxBuffer: 1 << 20 });
  const number = (pattern: RegExp) => Number(pattern.exec(stdout)?.[1] ?? 0);
  const requests = number(/(\d+) requests in/);
  const socketErrors = /Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)/.exec(stdout);
  const errors = number(/Non-2xx or 3xx responses: (\d+)/) + (socketErrors ? socketErrors.slice(1).reduce((sum, n) => sum + Number(n), 0) : 0);
  const p50 = /\n\s+50%\s+(\S+)/.exec(stdout)?.[1];
  const p99 = /\n\s+99%\s+(\S+)/.exec(stdout)?.[1];
  if (!p50 || !p99 || requests === 0) throw new Error(`wrk output not understood:\n${stdout}`);
  return { requests, perSecond: number(/Requests\/sec:\s+([\d.]+)/), p50Ms: milliseconds(p50), p99Ms: milliseconds(p99), errors };
}
