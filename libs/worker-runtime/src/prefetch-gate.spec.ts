import { setTimeout as sleep } from 'node:timers/promises';
import { PrefetchGate } from './prefetch-gate';

describe('PrefetchGate', () => {
  it('holds prefetches while sync work runs and for the hold-over after it', async () => {
    const states: boolean[] = [];
    const gate = new PrefetchGate((held) => states.push(held), 30);
    let release!: () => void;
    const work = gate.during(() => new Promise<void>((resolve) => (release = resolve)));
    expect(states.at(-1)).toBe(true);
    release();
    await work;
    expect(states.at(-1)).toBe(true);
    await sleep(40);
    gate.setSyncWaiting(false);
    expect(states.at(-1)).toBe(false);
  });

  it('holds prefetches while sync renders wait in the cluster, and lets them go after', () => {
    const states: boolean[] = [];
    const gate = new PrefetchGate((held) => states.push(held), 0);
    gate.setSyncWaiting(true);
    expect(states.at(-1)).toBe(true);
    gate.setSyncWaiting(false);
    expect(states.at(-1)).toBe(false);
  });

  it('keeps holding while any of several sync jobs still runs, and passes failures through', async () => {
    const states: boolean[] = [];
    const gate = new PrefetchGate((held) => states.push(held), 0);
    let release!: () => void;
    const long = gate.during(() => new Promise<void>((resolve) => (release = resolve)));
    await expect(gate.during(async () => Promise.reject(new Error('render failed')))).rejects.toThrow('render failed');
    expect(states.at(-1)).toBe(true);
    release();
    await long;
    expect(states.at(-1)).toBe(false);
  });
});
