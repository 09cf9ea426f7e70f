import type { Redis } from 'ioredis';
import { type CostEntry, type CostTable, afterOverrun, afterRender } from './render-cost-model';
import type { RenderWork } from './render-work';

/** How long a process reuses one reading of the cost table. */
const READ_EVERY_MS = 1_000;

function parseEntry(raw: string | undefined): CostEntry | undefined {
  if (!raw) return undefined;
  const [rate, at] = raw.split('|').map(Number);
  return Number.isFinite(rate) && Number.isFinite(at) ? { msPerUnit: rate!, at: at! } : undefined;
}

/**
 * The render cost model's table, shared by the cluster in one Redis hash (`<input>><output>` →
 * `msPerUnit|at`): every worker teaches it, the servers and workers read it to choose lanes.
 * Concurrent updates may lose one sample; a moving average does not mind.
 */
export class RenderCosts {
  private cached: { at: number; table: Map<string, CostEntry> } | null = null;

  constructor(
    private readonly redis: Redis,
    private readonly prefix: string,
  ) {}

  private get key(): string {
    return `${this.prefix}:render-costs`;
  }

  /** The table, read at most once a second per process; empty (defaults) when Redis does not answer. */
  async table(): Promise<CostTable> {
    return this.reading();
  }

  private async reading(): Promise<Map<string, CostEntry>> {
    if (this.cached && Date.now() - this.cached.at < READ_EVERY_MS) return this.cached.table;
    const fields = await this.redis.hgetall(this.key).catch(() => ({}) as Record<string, string>);
    const table = new Map<string, CostEntry>();
    for (const [key, raw] of Object.entries(fields)) {
      const entry = parseEntry(raw);
      if (entry) table.set(key, entry);
    }
    this.cached = { at: Date.now(), table };
    return table;
  }

  /** A render of `work` finished in `renderMs`. */
  async recordRender(work: RenderWork, renderMs: number): Promise<void> {
    await this.update(work, (entry, now) => afterRender(entry, work, renderMs, now));
  }

  /** A render of `work` ran out of `budgetMs` and was stopped. */
  async recordOverrun(work: RenderWork, budgetMs: number): Promise<void> {
    await this.update(work, (entry, now) => afterOverrun(entry, work, budgetMs, now));
  }

  /**
   * Updates one entry from this process's reading of the table (at most a second old, read now
   * when older), so a render costs one write, not three round trips; a sample another worker
   * wrote within that second may be lost, as with any concurrent update.
   */
  private async update(work: RenderWork, next: (entry: CostEntry | undefined, now: number) => CostEntry): Promise<void> {
    const table = await this.reading();
    const now = Date.now();
    const entry = next(table.get(work.key), now);
    await this.redis.hset(this.key, work.key, `${entry.msPerUnit.toFixed(3)}|${entry.at}`);
    table.set(work.key, entry);
  }
}
