import { type ChildProcess, spawn } from 'node:child_process';
import { EXIT_CONFIG_ERROR } from '@image-cloud/process-lifecycle';

export interface ChildSpec {
  /** Shown in the supervisor's messages, e.g. "worker-normal-0". */
  name: string;
  command: string;
  args: string[];
  env: NodeJS.ProcessEnv;
}

const RESTART_DELAY_MS = 1_000;

/**
 * Runs the processes of a local cluster, restarts one that dies (a crashed worker is replaced, its
 * jobs are recovered by BullMQ's stall check) and stops them all on request or on a config error.
 */
export class ProcessSupervisor {
  private readonly children = new Map<string, ChildProcess>();
  private stopping = false;
  /** What the launcher ends with: 0, or EXIT_CONFIG_ERROR once a child refused the configuration. */
  private exitCode = 0;
  private resolveStopped!: (code: number) => void;
  /** Resolves with the exit code the launcher should end with. */
  readonly stopped = new Promise<number>((resolve) => (this.resolveStopped = resolve));

  constructor(
    private readonly log: (message: string) => void,
    /** Messages the children send over their IPC channel (e.g. asking for the cluster's metrics). */
    private readonly onChildMessage: (child: ChildProcess, message: unknown) => void = () => undefined,
  ) {}

  /** The children running now. */
  running(): ChildProcess[] {
    return [...this.children.values()];
  }

  start(spec: ChildSpec): void {
    // The IPC channel is only a lifeline: a child whose launcher dies (even by SIGKILL) sees it
    // disconnect and shuts down instead of lingering as an orphan.
    const child = spawn(spec.command, spec.args, { env: spec.env, stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
    this.children.set(spec.name, child);
    child.on('message', (message) => this.onChildMessage(child, message));
    child.on('exit', (code, signal) => {
      this.children.delete(spec.name);
      if (this.stopping) {
        if (this.children.size === 0) this.resolveStopped(this.exitCode);
        return;
      }
      if (code === EXIT_CONFIG_ERROR) {
        this.log(`${spec.name} refused the configuration; stopping everything.`);
        this.exitCode = EXIT_CONFIG_ERROR;
        void this.stop();
        return;
      }
      this.log(`${spec.name} exited (${signal ?? `code ${code}`}); restarting it in ${RESTART_DELAY_MS} ms.`);
      setTimeout(() => {
        if (!this.stopping) this.start(spec);
      }, RESTART_DELAY_MS);
    });
  }

  /** Sends SIGTERM to every child and resolves when all have exited (SIGKILL after `graceMs`). */
  async stop(graceMs = 80_000): Promise<void> {
    this.stopping = true;
    const running = [...this.children.values()];
    if (running.length === 0) {
      this.resolveStopped(this.exitCode);
      return;
    }
    const exited = running.map((child) => new Promise<void>((resolve) => child.once('exit', () => resolve())));
    for (const child of running) child.kill('SIGTERM');
    const killer = setTimeout(() => running.forEach((child) => child.kill('SIGKILL')), graceMs);
    killer.unref();
    await Promise.all(exited);
    clearTimeout(killer);
  }
}
