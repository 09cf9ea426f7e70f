import { Counter, type Registry } from 'prom-client';
import { METRIC_PREFIX } from './metric-prefix';

/**
 * Counters that both the server and the workers add to (each for the events it sees), defined once
 * so that both export the same name, help and labels and one query sums them.
 */

const REROUTE_REASONS = ['budget', 'header', 'predicted'];

/**
 * A counter with its rare label sets exported at 0 from the start: a series that is born at 1
 * never shows an increase, so the first reroute or 429 would be invisible to rate() and increase().
 */
export function startedAtZero<L extends string>(counter: Counter<L>, labelSets: Array<Partial<Record<L, string>>>): Counter<L> {
  for (const labels of labelSets) counter.inc(labels, 0);
  return counter;
}

export function rateLimitedCounter(registry: Registry): Counter<'kind'> {
  const counter = new Counter({
    name: `${METRIC_PREFIX}rate_limited_total`,
    help: 'Work held back by a limit, by kind: tenant (429 rate_limited, counted by the server) or domain (a prefetch parked for a download slot of its origin domain, counted by the worker).',
    labelNames: ['kind'],
    registers: [registry],
  });
  return startedAtZero(counter, [{ kind: 'tenant' }, { kind: 'domain' }]);
}

export function bigLaneCounter(registry: Registry): Counter<'urgency' | 'reason'> {
  const counter = new Counter({
    name: `${METRIC_PREFIX}reroutes_total`,
    help: 'Renders sent to the big lane instead of the normal one, by urgency (sync, async) and reason: header or predicted (before rendering; the server counts those it starts there) or budget (over the normal budget, counted by the worker).',
    labelNames: ['urgency', 'reason'],
    registers: [registry],
  });
  return startedAtZero(
    counter,
    ['sync', 'async'].flatMap((urgency) => REROUTE_REASONS.map((reason) => ({ urgency, reason }))),
  );
}
