import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import IORedis from 'ioredis';
import { waitUntil } from '@image-cloud/testing';

/** Debian's redis-sentinel (a name for redis-server that starts it in Sentinel mode), or null. */
export function findRedisSentinel(): string | null {
  const result = spawnSync('sh', ['-c', 'command -v redis-sentinel'], { encoding: 'utf8' });
  const path = result.stdout.trim();
  return result.status === 0 && path ? path : null;
}

/**
 * Sentinels of a fault test's own, on loopback, watching one primary under `masterName`. Quick
 * settings (down after 1 s, failover timeout 5 s) so a crash is failed over within seconds.
 */
export class OwnSentinels {
  private readonly children: ChildProcess[] = [];
  private readonly dir = mkdtempSync(join(tmpdir(), 'image-cloud-sentinels-'));

  constructor(
    private readonly binary: string,
    readonly ports: number[],
    readonly masterName: string,
  ) {}

  /** REDIS_URL for the cloud: every Sentinel, then the master name. */
  get url(): string {
    return `redis-sentinel://${this.ports.map((port) => `127.0.0.1:${port}`).join(',')}/${this.masterName}`;
  }

  async start(primaryPort: number): Promise<void> {
    for (const port of this.ports) {
      // Sentinel rewrites its config file as it learns the topology, so each gets a writable one.
      const configFile = join(this.dir, `sentinel-${port}.conf`);
      writeFileSync(
        configFile,
        [
          `port ${port}`,
          'bind 127.0.0.1',
          `dir ${this.dir}`,
          `sentinel monitor ${this.masterName} 127.0.0.1 ${primaryPort} ${Math.floor(this.ports.length / 2) + 1}`,
          `sentinel down-after-milliseconds ${this.masterName} 1000`,
          `sentinel failover-timeout ${this.masterName} 5000`,
          `sentinel parallel-syncs ${this.masterName} 1`,
          '',
        ].join('\n'),
      );
      this.children.push(spawn(this.binary, [configFile], { stdio: 'ignore' }));
    }
  }

  /** Asks one Sentinel after another which port the primary is on now. */
  async primaryPort(): Promise<number | null> {
    for (const port of this.ports) {
      const reply = (await this.ask(port, 'get-master-addr-by-name', this.masterName)) as [string, string] | null;
      if (reply) return Number(reply[1]);
    }
    return null;
  }

  /**
   * Every Sentinel sees the primary, `replicas` healthy replicas and all the other Sentinels, so a
   * failover can be agreed and has somewhere to go. Returns whether that held within `timeoutMs`.
   */
  async waitUntilWatching(replicas: number, timeoutMs: number): Promise<boolean> {
    return waitUntil(async () => {
      for (const port of this.ports) {
        const found = (await this.ask(port, 'replicas', this.masterName)) as string[][] | null;
        const healthy = (found ?? []).map(fieldsOf).filter((fields) => fields['flags'] === 'slave' && fields['master-link-status'] === 'ok');
        const others = (await this.ask(port, 'sentinels', this.masterName)) as unknown[] | null;
        if (healthy.length < replicas || (others ?? []).length < this.ports.length - 1) return false;
      }
      return true;
    }, timeoutMs);
  }

  /** SENTINEL FAILOVER: a planned switch of the primary, as for maintenance. */
  async failover(): Promise<void> {
    await this.ask(this.ports[0]!, 'failover', this.masterName, true);
  }

  /** Clients subscribed on the first Sentinel (ioredis's failover detectors listening for +switch-master). */
  async subscribers(): Promise<number> {
    const sentinel = new IORedis({ host: '127.0.0.1', port: this.ports[0]!, maxRetriesPerRequest: 1 });
    try {
      const list = (await sentinel.client('LIST')) as string;
      return list.split('\n').filter((line) => /\bsub=[1-9]/.test(line)).length;
    } finally {
      sentinel.disconnect();
    }
  }

  async stop(): Promise<void> {
    await Promise.all(
      this.children.map(async (child) => {
        if (child.exitCode !== null || child.signalCode !== null) return;
        const exited = once(child, 'exit');
        child.kill('SIGKILL');
        await exited;
      }),
    );
    rmSync(this.dir, { recursive: true, force: true });
  }

  private async ask(port: number, subcommand: string, name: string, mustSucceed = false): Promise<unknown> {
    const sentinel = new IORedis({ host: '127.0.0.1', port, lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null });
    sentinel.on('error', () => undefined);
    try {
      await sentinel.connect();
      return await sentinel.call('SENTINEL', subcommand, name);
    } catch (error) {
      if (mustSucceed) throw error;
      return null;
    } finally {
      sentinel.disconnect();
    }
  }
}

function fieldsOf(flat: string[]): Record<string, string> {
  const fields: Record<string, string> = {};
  for (let i = 0; i + 1 < flat.length; i += 2) fields[flat[i]!] = flat[i + 1]!;
  return fields;
}
