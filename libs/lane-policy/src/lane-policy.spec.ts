import type { Transform } from '@image-cloud/contracts';
import { LanePolicy } from './lane-policy';
import { type CostEntry, COST_MODEL, afterOverrun, afterRender, currentMsPerUnit, predictRenderMs } from './render-cost-model';
import { type OriginalFacts, renderWorkOf } from './render-work';
import { estimateWaitMs } from './lane-load';

const policy = new LanePolicy({ normalBudgetMs: 5_000, bigBudgetMs: 60_000, bigLanePixels: 25_000_000, bigLaneBytes: 15_000_000 });
const photo: OriginalFacts = { format: 'jpeg', width: 4000, height: 3000, frames: 1, bytes: 3_000_000 };
// 420 × 420 × 100 frames = 17.6 M pixel-frames: under the header threshold.
const gif: OriginalFacts = { format: 'gif', width: 420, height: 420, frames: 100, bytes: 2_000_000 };
const thumb = (width: number, format: Transform['format'] = 'jpeg'): Transform => ({ width, fit: 'inside', format });
const now = 1_000_000_000;

describe('renderWorkOf', () => {
  it('counts decoded and encoded megapixel-frames, keyed by input and output format', () => {
    expect(renderWorkOf(photo, thumb(200))).toEqual({ key: 'jpeg>jpeg', units: 12 + 0.03 });
  });

  it('counts every frame only when the output keeps the animation', () => {
    expect(renderWorkOf(gif, thumb(420, 'webp')).units).toBeCloseTo(2 * 17.64);
    expect(renderWorkOf(gif, thumb(420, 'jpeg')).units).toBeCloseTo(2 * 0.1764);
  });
});

describe('render cost model', () => {
  const work = renderWorkOf(gif, thumb(300, 'webp'));

  it('starts from optimistic defaults, so nothing leaves the normal lane on a guess', () => {
    expect(predictRenderMs(new Map(), work, now)).toBeLessThan(2_000);
    expect(policy.startLane(gif, thumb(300, 'webp'), new Map(), now).size).toBe('normal');
  });

  it('after one overrun predicts every variant of the same giant over the budget', () => {
    const table = new Map([[work.key, afterOverrun(undefined, work, 5_000, now)]]);
    for (const width of [50, 100, 200, 300, 420]) {
      expect(policy.startLane(gif, thumb(width, 'webp'), table, now)).toMatchObject({ size: 'big', reason: 'predicted' });
    }
    // Other output formats learn on their own.
    expect(policy.startLane(gif, thumb(300, 'gif'), table, now).size).toBe('normal');
  });

  it('follows measured renders within a few jobs', () => {
    let entry: CostEntry | undefined;
    for (let i = 0; i < 6; i++) entry = afterRender(entry, work, 9_000, now);
    expect(currentMsPerUnit(work.key, entry, now) * work.units).toBeGreaterThan(7_000);
  });

  it('cannot send a whole format to the big lane because of one odd image', () => {
    const odd = renderWorkOf({ format: 'jpeg', width: 1000, height: 1000, frames: 1, bytes: 500_000 }, thumb(200));
    const table = new Map([['jpeg>jpeg', afterOverrun(undefined, odd, 5_000, now)]]);
    expect(policy.startLane(photo, thumb(200), table, now).size).toBe('normal');
  });

  it('never predicts small renders into the big lane, whatever it learnt', () => {
    const small: OriginalFacts = { format: 'jpeg', width: 800, height: 600, frames: 1, bytes: 80_000 };
    const table = new Map([['jpeg>jpeg', { msPerUnit: 1e6, at: now }]]);
    expect(policy.startLane(small, thumb(200), table, now).size).toBe('normal');
  });

  it('fades learnt rates back to the default with time', () => {
    const entry = afterOverrun(undefined, work, 5_000, now);
    const later = now + 10 * COST_MODEL.halfLifeMs;
    expect(currentMsPerUnit(work.key, entry, later)).toBeCloseTo(currentMsPerUnit(work.key, undefined, later), 0);
  });
});

describe('LanePolicy', () => {
  it('sends obvious giants to the big lane by their header', () => {
    expect(policy.startLane({ ...photo, width: 6000, height: 5000 }, thumb(200), new Map(), now)).toMatchObject({ size: 'big', reason: 'header' });
    expect(policy.startLane({ ...photo, bytes: 20_000_000 }, thumb(200), new Map(), now)).toMatchObject({ size: 'big', reason: 'header' });
    expect(policy.startLane(photo, thumb(200), new Map(), now).size).toBe('normal');
  });

  it('moves a normal job over budget to the big lane, and fails a big one', () => {
    expect(policy.overBudget('normal')).toEqual({ kind: 'reroute', reason: 'budget' });
    expect(policy.overBudget('big')).toEqual({ kind: 'fail' });
    expect(policy.budgetMs('normal')).toBe(5_000);
    expect(policy.budgetMs('big')).toBe(60_000);
  });
});

describe('estimateWaitMs', () => {
  it('never refuses while a slot is free, however slow the last renders were', () => {
    expect(estimateWaitMs(0, { slots: 2, averageJobMs: 60_000 })).toBe(0);
    expect(estimateWaitMs(1, { slots: 2, averageJobMs: 60_000 })).toBe(0);
  });

  it('counts the rounds of jobs ahead', () => {
    expect(estimateWaitMs(2, { slots: 2, averageJobMs: 100 })).toBe(200);
    expect(estimateWaitMs(7, { slots: 2, averageJobMs: 100 })).toBe(400);
    expect(estimateWaitMs(0, { slots: 0, averageJobMs: 100 })).toBe(Infinity);
  });
});
