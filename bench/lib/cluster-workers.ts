import cluster, { type Worker } from 'node:cluster';
import { once } from 'node:events';

/** Forks `count` cluster workers of this bench with `env`, resolved once every one listens. */
export async function forkListeningWorkers(count: number, env: NodeJS.ProcessEnv): Promise<Worker[]> {
  const workers: Worker[] = [];
  for (let i = 0; i < count; i++) workers.push(cluster.fork(env));
  await Promise.all(workers.map((worker) => once(worker, 'listening')));
  return workers;
}

/** Kills the workers outright (they hold no state) and resolves once all have exited. */
export async function killWorkers(workers: Worker[]): Promise<void> {
  await Promise.all(
    workers.map(async (worker) => {
      const exited = once(worker, 'exit');
      worker.kill('SIGKILL');
      await exited;
    }),
  );
}
