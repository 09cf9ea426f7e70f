/**
 * What the workers' own log says about their jobs: the JSON line "job finished" they write at debug
 * level (`{lane, outcome, durationMs, reason?}`), read from outside, so it works whatever the
 * worker's insides look like.
 */
export interface FinishedJob {
  /** `fetch` or `render` where the worker says (a fetch stage of its own); absent otherwise. */
  stage?: string;
  /** e.g. `sync-normal`, `async-big`. */
  lane: string;
  outcome: string;
  durationMs: number;
  /** Why a job was rerouted (`header`, `budget`, …), or an error's message. */
  reason?: string;
}

/** The job of a "job finished" log line; null for any other line. */
export function parseFinishedJob(line: string): FinishedJob | null {
  if (!line.startsWith('{')) return null;
  try {
    const entry = JSON.parse(line) as Record<string, unknown>;
    if (entry['msg'] !== 'job finished' || typeof entry['lane'] !== 'string') return null;
    return {
      ...(typeof entry['stage'] === 'string' ? { stage: entry['stage'] } : {}),
      lane: entry['lane'],
      outcome: String(entry['outcome']),
      durationMs: Number(entry['durationMs']),
      ...(typeof entry['reason'] === 'string' ? { reason: entry['reason'] } : {}),
    };
  } catch {
    return null;
  }
}

/** `sync-normal:rerouted(budget)`: a job's run as one short word, for tables. */
export function describeRun(job: FinishedJob): string {
  return `${job.lane}:${job.outcome}${job.outcome === 'rerouted' && job.reason ? `(${job.reason})` : ''}`;
}

/** A normal-lane run that ended in the big lane after burning at least this long counts as a budget burn. */
const BURN_MS = 1_000;

export interface RerouteSummary {
  /** Normal-lane jobs that ran at least BURN_MS and then moved to the big lane (reason other than `header`). */
  burns: FinishedJob[];
  /** Normal-lane jobs moved to the big lane without burning: by header, by a prediction, … */
  early: FinishedJob[];
  /** Every reroute reason seen, with its count. */
  reasons: Record<string, number>;
}

/**
 * Normal-lane reroutes, told apart by what they cost: tolerant of new reasons (`predicted`, …),
 * anything that is not `header` and burnt ≥ 1 s of a normal-lane core counts as a budget burn.
 */
export function summarizeReroutes(jobs: FinishedJob[]): RerouteSummary {
  const rerouted = jobs.filter((job) => job.stage !== 'fetch' && job.lane.endsWith('normal') && job.outcome === 'rerouted');
  const isBurn = (job: FinishedJob) => job.reason !== 'header' && job.durationMs >= BURN_MS;
  const reasons: Record<string, number> = {};
  for (const job of rerouted) reasons[job.reason ?? '(none)'] = (reasons[job.reason ?? '(none)'] ?? 0) + 1;
  return { burns: rerouted.filter(isBurn), early: rerouted.filter((job) => !isBurn(job)), reasons };
}
