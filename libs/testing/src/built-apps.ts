import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { existsSync } from 'node:fs';
import { dirname, resolve } from 'node:path';

/** The workspace root (where nx.json is), from this file as source or bundled into dist/. */
function workspaceRoot(): string {
  let dir = __dirname;
  while (!existsSync(resolve(dir, 'nx.json')) && dirname(dir) !== dir) dir = dirname(dir);
  return dir;
}

/** Where `node tools/build.mjs` (the suites' globalSetup, and `npm start`) puts the bundles. */
export const DIST_DIR = resolve(workspaceRoot(), 'dist');

export type BuiltApp = 'service-server' | 'image-worker' | 'launcher' | 'cli';

/** Runs a built bundle as its own process, as production runs it; output is discarded unless asked for. */
export function spawnBuiltApp(app: BuiltApp, env: NodeJS.ProcessEnv, options: { args?: string[]; stdio?: 'ignore' | 'pipe' } = {}): ChildProcess {
  return spawn(process.execPath, [resolve(DIST_DIR, app, 'main.js'), ...(options.args ?? [])], {
    env: { ...process.env, ...env },
    stdio: options.stdio === 'pipe' ? ['ignore', 'pipe', 'pipe'] : 'ignore',
  });
}

/** Sends `signal` to every process still running and resolves once all have exited. */
export async function stopProcesses(processes: ChildProcess[], signal: NodeJS.Signals = 'SIGTERM'): Promise<void> {
  await Promise.all(
    processes.map(async (child) => {
      if (child.exitCode !== null || child.signalCode !== null) return;
      const exited = once(child, 'exit');
      child.kill(signal);
      await exited;
    }),
  );
}
