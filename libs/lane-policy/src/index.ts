export { LanePolicy, type LanePolicyOptions, type LaneChoice, type OverBudget } from './lane-policy';
export { renderWorkOf, type RenderWork, type OriginalFacts } from './render-work';
export { type CostTable, type CostEntry, COST_MODEL, predictRenderMs, afterRender, afterOverrun, currentMsPerUnit } from './render-cost-model';
export { RenderCosts } from './render-costs';
export { LaneLoad, type LaneCapacity, estimateWaitMs } from './lane-load';
