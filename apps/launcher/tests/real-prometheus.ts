import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { freePort, stopProcesses, waitForHttp } from '@image-cloud/testing';

/** Debian's prometheus package (`.ci/run` installs it when missing). */
export const PROMETHEUS_PATH = '/usr/bin/prometheus';

export interface InstantResult {
  status: 'success' | 'error';
  error?: string;
  data?: { resultType: string; result: Array<{ metric: Record<string, string>; value: [number, string] }> };
}

export interface RealPrometheus {
  url: string;
  /** An instant query through the HTTP API, as Grafana sends it. */
  query(expr: string): Promise<InstantResult>;
  stop(): Promise<void>;
}

/** A real Prometheus on loopback scraping `target` (host:port) every second, with a throw-away TSDB. */
export async function startPrometheus(target: string): Promise<RealPrometheus> {
  const dir = await mkdtemp(join(tmpdir(), 'prometheus-'));
  const config = [
    'global: { scrape_interval: 1s, scrape_timeout: 1s, evaluation_interval: 1s }',
    'scrape_configs:',
    `  - { job_name: image-cloud, static_configs: [{ targets: ["${target}"] }] }`,
    '',
  ].join('\n');
  await writeFile(join(dir, 'prometheus.yml'), config);
  const port = await freePort();
  const child: ChildProcess = spawn(
    PROMETHEUS_PATH,
    [`--config.file=${join(dir, 'prometheus.yml')}`, `--storage.tsdb.path=${join(dir, 'data')}`, `--web.listen-address=127.0.0.1:${port}`],
    { stdio: 'ignore' },
  );
  const url = `http://127.0.0.1:${port}`;
  const stop = async () => {
    await stopProcesses([child]);
    await rm(dir, { recursive: true, force: true });
  };
  const query = async (expr: string) => {
    const response = await fetch(`${url}/api/v1/query`, { method: 'POST', body: new URLSearchParams({ query: expr }) });
    return (await response.json()) as InstantResult;
  };
  try {
    await waitForHttp(`${url}/-/ready`, 30_000);
    // Counters are then known before the traffic starts, so every event of it shows as an increase.
    const giveUpAt = Date.now() + 30_000;
    while ((await query('up == 1')).data?.result.length !== 1) {
      if (Date.now() > giveUpAt) throw new Error(`Prometheus did not scrape ${target}`);
      await sleep(200);
    }
  } catch (error) {
    await stop();
    throw error;
  }
  return { url, query, stop };
}
