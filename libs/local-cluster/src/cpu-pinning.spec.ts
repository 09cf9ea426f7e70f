import { coresFor, pinnedCommand } from './cpu-pinning';

describe('coresFor', () => {
  it('gives each one-core worker its own core, wrapping around', () => {
    expect([0, 1, 2, 3].map((i) => coresFor(i, 1, 2))).toEqual([[0], [1], [0], [1]]);
  });

  it('gives multi-core workers consecutive blocks', () => {
    expect([0, 1, 2].map((i) => coresFor(i, 2, 4))).toEqual([[0, 1], [2, 3], [0, 1]]);
  });

  it('never asks for more cores than exist', () => {
    expect(coresFor(0, 8, 2)).toEqual([0, 1]);
  });
});

describe('pinnedCommand', () => {
  it('wraps the command in taskset', () => {
    expect(pinnedCommand('node', ['w.js'], [1])).toEqual({ command: 'taskset', args: ['--cpu-list', '1', 'node', 'w.js'] });
    expect(pinnedCommand('node', ['w.js'], null)).toEqual({ command: 'node', args: ['w.js'] });
  });
});
