import { type ChildProcess, fork } from 'node:child_process';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { build } from 'esbuild';
import { type ProcessMetrics, createProcessRegistry, scrapeText, serveClusterMetrics } from '@image-cloud/metrics';

const WORKSPACE_TMP = resolve(__dirname, '../../../tmp');

function nextMessage(child: ChildProcess, type: string): Promise<{ type: string; metrics?: ProcessMetrics[] }> {
  return new Promise((resolve, reject) => {
    const onMessage = (message: { type: string }) => {
      if (message.type !== type) return;
      child.off('message', onMessage);
      resolve(message);
    };
    child.on('message', onMessage);
    child.once('exit', (code) => reject(new Error(`child exited with code ${code}`)));
  });
}

/** The IPC protocol between real processes: this test plays the launcher, its children the server and workers. */
describe('cluster metrics over IPC', () => {
  let dir: string;
  const children: ChildProcess[] = [];

  beforeAll(async () => {
    // Inside the workspace, so the bundle finds prom-client in node_modules.
    await mkdir(WORKSPACE_TMP, { recursive: true });
    dir = await mkdtemp(join(WORKSPACE_TMP, 'cluster-metrics-'));
    await build({ entryPoints: [join(__dirname, 'fixtures/metrics-child.ts')], outfile: join(dir, 'child.js'), bundle: true, platform: 'node', format: 'cjs', packages: 'external', logLevel: 'warning' });
  });

  afterAll(async () => {
    for (const child of children) child.kill('SIGKILL');
    await rm(dir, { recursive: true, force: true });
  });

  async function start(mode: string, index: number): Promise<ChildProcess> {
    const child = fork(join(dir, 'child.js'), [mode, String(index)], { stdio: 'ignore' });
    children.push(child);
    await nextMessage(child, 'ready');
    return child;
  }

  it("gives the server every other process's metrics, labelled, and skips a child that does not answer", async () => {
    const server = await start('server', 0);
    await start('worker', 0);
    await start('worker', 1);
    await start('silent', 2);
    const answer = serveClusterMetrics({ registry: createProcessRegistry({ role: 'launcher', index: 0 }), children: () => children, timeoutMs: 500 });
    for (const child of children) child.on('message', (message) => answer(child, message));

    const answered = nextMessage(server, 'result');
    server.send({ type: 'go' });
    const result = (await answered) as { metrics: ProcessMetrics[] };
    // The launcher and the two answering workers; the server has its own, the silent child is left out.
    expect(result.metrics).toHaveLength(3);
    const { body } = await scrapeText(createProcessRegistry({ role: 'server', index: 0 }), result.metrics);
    expect(body).toContain('fixture_jobs_total{role="worker-normal",index="0"} 1');
    expect(body).toContain('fixture_jobs_total{role="worker-normal",index="1"} 2');
    expect(body).not.toContain('index="2"');
    expect(body).toMatch(/process_cpu_user_seconds_total\{role="launcher",index="0"\}/);

    // Many scrapes at once: each gets its own answer, and no channel piles up listeners.
    const warnings: string[] = [];
    const onWarning = (warning: Error) => warnings.push(warning.name);
    process.on('warning', onWarning);
    const answers: Array<{ metrics?: ProcessMetrics[] }> = [];
    const allAnswered = new Promise<void>((resolve) => {
      const onResult = (message: { type: string; metrics?: ProcessMetrics[] }) => {
        if (message.type === 'result' && answers.push(message) === 15) {
          server.off('message', onResult);
          resolve();
        }
      };
      server.on('message', onResult);
    });
    for (let i = 0; i < 15; i++) server.send({ type: 'go' });
    await allAnswered;
    process.off('warning', onWarning);
    expect(answers.map((answer) => answer.metrics?.length)).toEqual(Array(15).fill(3));
    expect(warnings).toEqual([]);
  });
});
