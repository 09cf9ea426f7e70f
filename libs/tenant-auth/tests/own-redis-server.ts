import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { connect } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import IORedis from 'ioredis';
import { freePort } from '@image-cloud/testing';

/**
 * A redis-server of a test file's own, never the shared one: INFO commandstats then counts only
 * the test's commands, and stopping it is a Redis outage no other test sees.
 */
export class OwnRedisServer {
  private constructor(
    readonly url: string,
    private readonly child: ChildProcess,
  ) {}

  static async start(): Promise<OwnRedisServer> {
    const port = await freePort();
    const child = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'], { stdio: 'ignore' });
    const server = new OwnRedisServer(`redis://127.0.0.1:${port}`, child);
    // Plain TCP until it listens: an ioredis client refused at connect keeps a timer running for seconds.
    for (let attempt = 0; attempt < 50 && child.exitCode === null; attempt++) {
      try {
        const socket = connect(port, '127.0.0.1');
        await once(socket, 'connect');
        socket.destroy();
        return server;
      } catch {
        await sleep(100);
      }
    }
    child.kill('SIGKILL');
    throw new Error('redis-server did not start');
  }

  /** Calls of every command since the server started, EVALSHA and EVAL (a script's first call) included. */
  async commandCalls(): Promise<Map<string, number>> {
    const redis = new IORedis(this.url, { maxRetriesPerRequest: 1 });
    try {
      const info = await redis.info('commandstats');
      return new Map([...info.matchAll(/^cmdstat_([^:]+):calls=(\d+)/gm)].map((match) => [match[1]!, Number(match[2])]));
    } finally {
      redis.disconnect();
    }
  }

  /** Script calls (the lease script is the limiter's only command) since the server started. */
  async scriptCalls(): Promise<number> {
    const calls = await this.commandCalls();
    return (calls.get('evalsha') ?? 0) + (calls.get('eval') ?? 0);
  }

  /** SIGKILL: Redis vanishes as in a crash. */
  async stop(): Promise<void> {
    if (this.child.exitCode !== null || this.child.signalCode !== null) return;
    const exited = once(this.child, 'exit');
    this.child.kill('SIGKILL');
    await exited;
  }
}
