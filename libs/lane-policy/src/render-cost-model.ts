import type { RenderWork } from './render-work';

/** What the cluster has learnt about one kind of render (input > output format). */
export interface CostEntry {
  /** Render ms per megapixel-frame. */
  msPerUnit: number;
  /** When it was last updated (epoch ms); older knowledge fades back towards the default. */
  at: number;
}

export type CostTable = ReadonlyMap<string, CostEntry>;

/**
 * The constants of the render cost model. The defaults are deliberately optimistic (a render is
 * assumed cheap until measured otherwise), so nothing leaves the normal lane on a guess alone.
 */
export const COST_MODEL = {
  /** Per-job cost outside the pixels (IPC, encoder set-up). */
  fixedMs: 5,
  /** Starting ms per megapixel-frame by input format; shrink-on-load JPEG is cheapest, GIF frames dearest. */
  defaultMsPerUnit: { jpeg: 8, png: 15, webp: 20, tiff: 15, gif: 30, heif: 40, svg: 30 } as Readonly<Record<string, number>>,
  fallbackMsPerUnit: 20,
  /** Extra default ms per unit for AVIF output, the slowest encoder. */
  avifOutputMsPerUnit: 20,
  /** Weight of the newest measurement: the model follows a change within a few jobs. */
  weight: 0.3,
  /** Learnt knowledge halves its distance to the default every this many ms without news. */
  halfLifeMs: 30 * 60_000,
  /** A render that ran out of budget costs at least budget ÷ units; take twice that, to cover smaller variants of it. */
  overrunMargin: 2,
  /** One overrun may raise a rate at most this many times: one odd image cannot send a whole format to the big lane. */
  maxOverrunStep: 8,
  /** Bounds of any learnt rate, as multiples of the default. */
  minFactor: 0.25,
  maxFactor: 200,
} as const;

export function defaultMsPerUnit(key: string): number {
  const [input = '', output = ''] = key.split('>');
  const base = COST_MODEL.defaultMsPerUnit[input] ?? COST_MODEL.fallbackMsPerUnit;
  return base + (output === 'avif' ? COST_MODEL.avifOutputMsPerUnit : 0);
}

function clampRate(key: string, msPerUnit: number): number {
  const base = defaultMsPerUnit(key);
  return Math.min(base * COST_MODEL.maxFactor, Math.max(base * COST_MODEL.minFactor, msPerUnit));
}

/** The rate to use now: the learnt one, faded towards the default by its age. */
export function currentMsPerUnit(key: string, entry: CostEntry | undefined, now: number): number {
  const base = defaultMsPerUnit(key);
  if (!entry) return base;
  const fade = 0.5 ** (Math.max(0, now - entry.at) / COST_MODEL.halfLifeMs);
  return clampRate(key, base + (entry.msPerUnit - base) * fade);
}

/** Predicted render ms of `work`. */
export function predictRenderMs(table: CostTable, work: RenderWork, now: number): number {
  return COST_MODEL.fixedMs + currentMsPerUnit(work.key, table.get(work.key), now) * work.units;
}

/** The entry after a render of `work` finished in `renderMs`: a moving average of measured rates. */
export function afterRender(entry: CostEntry | undefined, work: RenderWork, renderMs: number, now: number): CostEntry {
  const current = currentMsPerUnit(work.key, entry, now);
  const measured = Math.max(0, renderMs - COST_MODEL.fixedMs) / Math.max(work.units, 0.01);
  return { msPerUnit: clampRate(work.key, current + COST_MODEL.weight * (measured - current)), at: now };
}

/**
 * The entry after a render of `work` ran out of `budgetMs`: its real cost is unknown but at least
 * the budget, so the rate rises to what predicts twice that, in one bounded step.
 */
export function afterOverrun(entry: CostEntry | undefined, work: RenderWork, budgetMs: number, now: number): CostEntry {
  const current = currentMsPerUnit(work.key, entry, now);
  const lowerBound = (COST_MODEL.overrunMargin * budgetMs) / Math.max(work.units, 0.01);
  const raised = Math.min(lowerBound, current * COST_MODEL.maxOverrunStep);
  return { msPerUnit: clampRate(work.key, Math.max(current, raised)), at: now };
}
