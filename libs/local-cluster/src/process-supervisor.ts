import { type ChildProcess, spawn } from 'node:child_process';
import { EXIT_CONFIG_ERROR, FATAL_EXIT_CODES } from '@image-cloud/process-lifecycle';
import { forkSharingPort } from './port-sharing';

interface CommonSpec {
  /** Shown in the supervisor's messages, e.g. "worker-normal-0". */
  name: string;
  env: NodeJS.ProcessEnv;
  /**
   * Children of a lower stage are stopped, and waited for, before the next stage gets SIGTERM
   * (the server drains its waiting clients while the workers still finish their jobs). @defaultValue 0
   */
  stopStage?: number;
}

/** A child run as a command line (which may wrap Node in taskset or nice). */
export interface CommandSpec extends CommonSpec {
  command: string;
  args: string[];
}

/** A Node script whose listening port is shared with every other such child listening on it (see forkSharingPort). */
export interface PortSharingSpec extends CommonSpec {
  sharedPortScript: string;
}

export type ChildSpec = CommandSpec | PortSharingSpec;

const RESTART_DELAY_MS = 1_000;

/**
 * Runs the processes of a local cluster, restarts one that dies (a crashed worker is replaced, its
 * jobs are recovered by BullMQ's stall check) and stops them all, stage by stage, on request or
 * when a child exits with a code restarting cannot fix (bad configuration, port in use).
 */
export class ProcessSupervisor {
  private readonly children = new Map<string, { child: ChildProcess; stopStage: number }>();
  private stopping = false;
  /** What the launcher ends with: 0, or the fatal exit code of the child that made everything stop. */
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
    return [...this.children.values()].map(({ child }) => child);
  }

  start(spec: ChildSpec): void {
    if (this.stopping) return;
    // The IPC channel is only a lifeline: a child whose launcher dies (even by SIGKILL) sees it
    // disconnect and shuts down instead of lingering as an orphan.
    const child =
      'sharedPortScript' in spec
        ? forkSharingPort(spec.sharedPortScript, spec.env)
        : spawn(spec.command, spec.args, { env: spec.env, stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
    this.children.set(spec.name, { child, stopStage: spec.stopStage ?? 0 });
    child.on('message', (message) => this.onChildMessage(child, message));
    child.on('exit', (code, signal) => {
      this.children.delete(spec.name);
      if (this.stopping) {
        if (this.children.size === 0) this.resolveStopped(this.exitCode);
        return;
      }
      if (code !== null && FATAL_EXIT_CODES.has(code)) {
        this.log(`${spec.name} ${code === EXIT_CONFIG_ERROR ? 'refused the configuration' : `cannot run (exit code ${code})`}; stopping everything.`);
        this.exitCode = code;
        void this.stop();
        return;
      }
      this.log(`${spec.name} exited (${signal ?? `code ${code}`}); restarting it in ${RESTART_DELAY_MS} ms.`);
      setTimeout(() => this.start(spec), RESTART_DELAY_MS);
    });
  }

  /**
   * Sends SIGTERM stage by stage (lowest first), each stage once the one before has exited, and
   * resolves when all have exited. A stage still running after `graceMs` is SIGKILLed.
   */
  async stop(graceMs = 80_000): Promise<void> {
    this.stopping = true;
    const stages = [...new Set([...this.children.values()].map(({ stopStage }) => stopStage))].sort((a, b) => a - b);
    for (const stage of stages) {
      const running = [...this.children.values()].filter(({ stopStage }) => stopStage === stage).map(({ child }) => child);
      const exited = running.map((child) => new Promise<void>((resolve) => (child.exitCode !== null || child.signalCode !== null ? resolve() : child.once('exit', () => resolve()))));
      for (const child of running) child.kill('SIGTERM');
      const killer = setTimeout(() => running.forEach((child) => child.kill('SIGKILL')), graceMs);
      killer.unref();
      await Promise.all(exited);
      clearTimeout(killer);
    }
    if (this.children.size === 0) this.resolveStopped(this.exitCode);
  }
}
