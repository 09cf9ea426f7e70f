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

  it('restarts a child that dies', async () => {
    const lines: string[] = [];
    const supervisor = new ProcessSupervisor((line) => lines.push(line));
    supervisor.start({ name: 'flaky', ...node('setTimeout(() => process.exit(1), 100)') });
    while (!lines.some((line) => line.includes('flaky exited (code 1)'))) await new Promise((resolve) => setTimeout(resolve, 50));
    await supervisor.stop();
    expect(await supervisor.stopped).toBe(0);
  });
});
