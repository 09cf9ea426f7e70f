import { type ChildProcess, spawn } from 'node:child_process';
import cluster from 'node:cluster';
import { createReadStream, readFileSync, statSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import http from 'node:http';
import { userInfo } from 'node:os';
import { join } from 'node:path';
import { freePort, stopProcesses, waitForHttp } from '@image-cloud/testing';
import { forkListeningWorkers, killWorkers } from './cluster-workers';

/**
 * The baselines of the hit path: servers that do nothing but answer one file's bytes. nginx from
 * the file (sendfile), and a bare node:http server in `processes` processes sharing the port
 * (node:cluster), either from memory or streaming the file from disk on every request.
 */

export interface StaticServer {
  url: string;
  stop(): Promise<void>;
}

/** nginx with a config of its own in `dir` (daemon off, no access log), serving `file` from `dir`/www. */
export async function startNginx(dir: string, bytes: Buffer, workers: number): Promise<StaticServer> {
  const www = join(dir, 'www');
  await mkdir(join(dir, 'temp'), { recursive: true });
  await mkdir(www, { recursive: true });
  await writeFile(join(www, 'variant.jpg'), bytes);
  const port = await freePort();
  const temp = join(dir, 'temp');
  // Started as root, nginx's workers would switch to `nobody`, who cannot enter a 0700 temp dir;
  // as anybody else the directive is ignored with a warning.
  const config = `user ${userInfo().username};
worker_processes ${workers};
daemon off;
pid ${join(dir, 'nginx.pid')};
error_log ${join(dir, 'error.log')} warn;
events { worker_connections 4096; }
http {
  access_log off;
  sendfile on;
  tcp_nopush on;
  keepalive_requests 1000000;
  client_body_temp_path ${temp}/body;
  proxy_temp_path ${temp}/proxy;
  fastcgi_temp_path ${temp}/fastcgi;
  uwsgi_temp_path ${temp}/uwsgi;
  scgi_temp_path ${temp}/scgi;
  types { image/jpeg jpg; }
  server {
    listen 127.0.0.1:${port};
    root ${www};
  }
}
`;
  const configPath = join(dir, 'nginx.conf');
  await writeFile(configPath, config);
  const child: ChildProcess = spawn('nginx', ['-p', dir, '-c', configPath, '-e', join(dir, 'error.log')], { stdio: ['ignore', 'ignore', 'inherit'] });
  const url = `http://127.0.0.1:${port}/variant.jpg`;
  try {
    await waitForHttp(url);
  } catch (error) {
    await stopProcesses([child], 'SIGQUIT');
    throw error;
  }
  // SIGQUIT: nginx's graceful stop; its workers exit with the master.
  return { url, stop: () => stopProcesses([child], 'SIGQUIT') };
}

const PORT_ENV = 'HIT_PATH_BARE_PORT';
const FILE_ENV = 'HIT_PATH_BARE_FILE';
const MODE_ENV = 'HIT_PATH_BARE_MODE';

/** True in a process forked by startBareNodeServer: it must call serveBareNodeRequests() instead of the benchmark. */
export function isBareNodeServerWorker(): boolean {
  return cluster.isWorker && process.env[PORT_ENV] !== undefined;
}

/** The body of one bare-server process: every request gets the file, from memory or streamed from disk. */
export function serveBareNodeRequests(): void {
  const file = process.env[FILE_ENV]!;
  const headers = { 'Content-Type': 'image/jpeg', 'Content-Length': statSync(file).size };
  const bytes = readFileSync(file);
  const fromMemory = process.env[MODE_ENV] === 'memory';
  http
    .createServer((_req, res) => {
      res.writeHead(200, headers);
      if (fromMemory) res.end(bytes);
      else createReadStream(file).pipe(res);
    })
    .listen(Number(process.env[PORT_ENV]), '127.0.0.1');
}

/** Forks `processes` bare servers of this very script (the benchmark must route them, see isBareNodeServerWorker). */
export async function startBareNodeServer(file: string, mode: 'memory' | 'disk', processes: number): Promise<StaticServer> {
  const port = await freePort();
  const workers = await forkListeningWorkers(processes, { [PORT_ENV]: String(port), [FILE_ENV]: file, [MODE_ENV]: mode });
  return {
    url: `http://127.0.0.1:${port}/variant.jpg`,
    stop: () => killWorkers(workers),
  };
}
