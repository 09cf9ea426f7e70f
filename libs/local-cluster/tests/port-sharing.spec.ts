import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { freePort, httpGet } from '@image-cloud/testing';
import { ProcessSupervisor } from '../src';

/** A server that answers every request with its pid and PROCESS_INDEX, on PORT like the service server. */
const PID_SERVER = `
require('node:http')
  .createServer((req, res) => res.end(JSON.stringify({ pid: process.pid, index: process.env.PROCESS_INDEX })))
  .listen(Number(process.env.PORT), '127.0.0.1');
`;

interface Answer {
  pid: number;
  index: string;
}

/** One request on a connection of its own (so the primary deals it to the next process in turn), or null when refused. */
async function ask(port: number): Promise<Answer | null> {
  const answer = await httpGet(`http://127.0.0.1:${port}/`);
  return answer.status === 200 ? (JSON.parse(answer.body.toString()) as Answer) : null;
}

async function untilAnswered(port: number): Promise<void> {
  while ((await ask(port)) === null) await sleep(50);
}

describe('server processes sharing one port (PortSharingSpec)', () => {
  let dir: string;
  let script: string;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'port-sharing-'));
    script = join(dir, 'pid-server.js');
    await writeFile(script, PID_SERVER);
  });
  afterAll(() => rm(dir, { recursive: true, force: true }));

  it('answers on one port from every process in turn, keeps answering while one is dead and restarts it', async () => {
    const port = await freePort();
    const lines: string[] = [];
    const supervisor = new ProcessSupervisor((line) => lines.push(line));
    for (const index of [0, 1]) {
      supervisor.start({ name: `server-${index}`, sharedPortScript: script, env: { ...process.env, PORT: String(port), PROCESS_INDEX: String(index) } });
    }
    try {
      await untilAnswered(port);
      // Both have listened once each has answered; until then the one listening gets everything.
      const seen = new Map<string, number>();
      while (seen.size < 2) {
        const answer = await ask(port);
        if (answer) seen.set(answer.index, answer.pid);
      }
      // Round-robin: once both listen, consecutive connections go to each in turn.
      const turns = await Promise.all(Array.from({ length: 6 }, () => ask(port)));
      expect(new Set(turns.map((answer) => answer?.index))).toEqual(new Set(['0', '1']));

      const [victim, survivor] = [seen.get('0')!, seen.get('1')!];
      process.kill(victim, 'SIGKILL');
      while (!lines.some((line) => line.includes('server-0 exited (SIGKILL); restarting'))) await sleep(20);
      // Dead, not yet restarted (restarts wait a second): every connection goes to the sibling.
      const meanwhile = await Promise.all(Array.from({ length: 4 }, () => ask(port)));
      expect(meanwhile.map((answer) => answer?.pid)).toEqual([survivor, survivor, survivor, survivor]);

      // The restarted process takes its turns again, under the same index.
      let restarted: Answer | null = null;
      while (!restarted) {
        const answer = await ask(port);
        if (answer && answer.pid !== survivor) restarted = answer;
      }
      expect(restarted.index).toBe('0');
      expect(restarted.pid).not.toBe(victim);
    } finally {
      await supervisor.stop();
    }
    expect(await supervisor.stopped).toBe(0);
    // Every process gone: the port is free again.
    expect(await ask(port)).toBeNull();
  }, 30_000);
});
