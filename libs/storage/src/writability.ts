import type { ImageStorage } from './image-storage';

/** What the last writability probe found. */
export type WritabilityState = { writable: true } | { writable: false; cause: string };

/**
 * Whether the store takes writes, for readiness: probes by writing (ImageStorage.checkWritable),
 * at most once per `minIntervalMs` however often it is asked, because /readyz needs no token.
 * `onChange` hears every change (the first failure included), so it is logged once, not per probe.
 */
export class StoreWritability {
  private last: { at: number; state: WritabilityState } | null = null;
  private probing: Promise<WritabilityState> | null = null;

  constructor(
    private readonly storage: Pick<ImageStorage, 'checkWritable'>,
    private readonly minIntervalMs: number,
    private readonly onChange?: (state: WritabilityState) => void,
  ) {}

  async check(): Promise<WritabilityState> {
    if (this.last && Date.now() - this.last.at < this.minIntervalMs) return this.last.state;
    this.probing ??= this.probe().finally(() => {
      this.probing = null;
    });
    return this.probing;
  }

  private async probe(): Promise<WritabilityState> {
    let state: WritabilityState;
    try {
      await this.storage.checkWritable?.();
      state = { writable: true };
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      state = { writable: false, cause: code ? `${code}: ${(error as Error).message}` : String((error as Error).message ?? error) };
    }
    const changed = (this.last?.state.writable ?? true) !== state.writable;
    this.last = { at: Date.now(), state };
    if (changed) this.onChange?.(state);
    return state;
  }
}
