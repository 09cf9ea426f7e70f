import { ProcessSupervisor } from '../src';

/** Real child processes (node one-liners): what the launcher exits with after its children end. */
const node = (script: string) => ({ command: process.execPath, args: ['-e', script], env: process.env });
const RUNS_UNTIL_TERM = 'setInterval(() => {}, 1000)';

describe('ProcessSupervisor', () => {
  it('stops everything and ends with the config-error code when a child refuses the configuration', async () => {
    const lines: string[] = [];
    const supervisor = new ProcessSupervisor((line) => lines.push(line));
    supervisor.start({ name: 'steady', ...node(RUNS_UNTIL_TERM) });
    supervisor.start({ name: 'misconfigured', ...node('setTimeout(() => process.exit(2), 200)') });
    expect(await supervisor.stopped).toBe(2);
    expect(lines.join('\n')).toContain('misconfigured refused the configuration');
  });

  it('ends with 0 when asked to stop', async () => {
    const supervisor = new ProcessSupervisor(() => undefined);
    supervisor.start({ name: 'a', ...node(RUNS_UNTIL_TERM) });
    supervisor.start({ name: 'b', ...node(RUNS_UNTIL_TERM) });
    await new Promise((resolve) => setTimeout(resolve, 200));
    await supervisor.stop();
    expect(await supervisor.stopped).toBe(0);
  });

  it('stops everything and ends with that code when a child cannot listen on its port', async () => {
    const lines: string[] = [];
    const supervisor = new ProcessSupervisor((line) => lines.push(line));
    supervisor.start({ name: 'steady', ...node(RUNS_UNTIL_TERM) });
    supervisor.start({ name: 'server', ...node('setTimeout(() => process.exit(3), 200)') });
    expect(await supervisor.stopped).toBe(3);
    expect(lines.join('\n')).toContain('server cannot run (exit code 3)');
    expect(lines.join('\n')).not.toContain('restarting');
  });

  it('stops the stages in order: a later stage gets SIGTERM only once the earlier one has exited', async () => {
    const supervisor = new ProcessSupervisor(() => undefined);
    // The server takes a while to drain; the worker must still be running when it is done.
    supervisor.start({ name: 'server', ...node(`process.on('SIGTERM', () => setTimeout(() => process.exit(0), 500)); ${RUNS_UNTIL_TERM}`), stopStage: 0 });
    supervisor.start({ name: 'worker', ...node(RUNS_UNTIL_TERM), stopStage: 1 });
    const [server, worker] = supervisor.running();
    await new Promise((resolve) => setTimeout(resolve, 300));
    let workerRunningWhenServerExited: boolean | undefined;
    server!.once('exit', () => (workerRunningWhenServerExited = worker!.exitCode === null && worker!.signalCode === null));
    await supervisor.stop();
    expect(workerRunningWhenServerExited).toBe(true);
    expect(worker!.signalCode).toBe('SIGTERM');
    expect(await supervisor.stopped).toBe(0);
  });

  it('restarts a child that dies', async () => {
    const lines: string[] = [];
    const supervisor = new ProcessSupervisor((line) => lines.push(line));
    supervisor.start({ name: 'flaky', ...node('setTimeout(() => process.exit(1), 100)') });
    while (!lines.some((line) => line.includes('flaky exited (code 1)'))) await new Promise((resolve) => setTimeout(resolve, 50));
    await supervisor.stop();
    expect(await supervisor.stopped).toBe(0);
  });
});
