import type { RenderOutcome, RenderState } from './render-ports';

/**
 * Asks the lane policy where this render belongs, from the original's header and the learnt cost
 * model: a normal-lane job that the policy sends to the big lane leaves before burning its budget.
 */
export async function chooseLane(state: RenderState): Promise<RenderOutcome | undefined> {
  const { deps, original, job, size } = state;
  if (!original) throw new Error('chooseLane needs the original');
  const choice = deps.lanes.startLane(original.meta, job.transform, await deps.costs.table());
  state.work = choice.work;
  if (size === 'normal' && choice.size === 'big') return { kind: 'reroute', reason: choice.reason };
  return undefined;
}
