import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { connect } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { findRedisServer } from '@image-cloud/local-cluster';

/** A redis-server of a fault test's own (never the shared one), on `port`: started, killed and started again. */
export class OwnRedis {
  private child: ChildProcess | undefined;

  constructor(
    readonly port: number,
    private readonly extraArgs: string[] = [],
  ) {}

  get url(): string {
    return `redis://127.0.0.1:${this.port}`;
  }

  get running(): boolean {
    return this.child !== undefined && this.child.exitCode === null && this.child.signalCode === null;
  }

  async start(): Promise<void> {
    const args = ['--port', String(this.port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', ...this.extraArgs];
    this.child = spawn(findRedisServer()!, args, { stdio: 'ignore' });
    for (let i = 0; i < 50; i++) {
      try {
        const socket = connect(this.port, '127.0.0.1');
        await once(socket, 'connect');
        socket.destroy();
        return;
      } catch {
        await sleep(100);
      }
    }
    throw new Error('redis-server did not start');
  }

  /** SIGKILL: Redis vanishes as in a crash. */
  async stop(): Promise<void> {
    const child = this.child;
    if (!child || !this.running) return;
    const exited = once(child, 'exit');
    child.kill('SIGKILL');
    await exited;
  }
}
