export { LanePolicy, type LanePolicyOptions } from './lane-policy';
export type { RenderWork } from './render-work';
export type { CostTable } from './render-cost-model';
export { RenderCosts } from './render-costs';
export { LaneLoad, type LaneCapacity, estimateWaitMs } from './lane-load';
