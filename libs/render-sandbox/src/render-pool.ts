import { type ChildProcess, fork } from 'node:child_process';
import { once } from 'node:events';
import type { Transform } from '@image-cloud/contracts';
import { ImageCloudError } from '@image-cloud/errors';
import type { ImageLimits, ImageProbe, ImageSource, RenderOptions, RenderedVariant } from '@image-cloud/imaging';
import { type RenderReplyMessage, type SandboxRequestMessage, asBuffer } from './render-messages';

export interface RenderPoolOptions {
  /** Built script whose body calls serveRenderRequests(). */
  childScript: string;
  /** Renders at once: one child per slot. */
  size: number;
  /**
   * Extra time after the budget before the child is killed. libvips' own timeout is cooperative
   * and counts whole seconds; the kill is the backstop for operations that ignore it.
   * @defaultValue 250
   */
  killGraceMs?: number;
  /** libvips threads per render. @defaultValue 1 */
  threadsPerRender?: number;
  /**
   * Memory ceiling of each child, in MiB: the V8 heap (`--max-old-space-size`) and the address
   * space beyond what Node reserves at start (`ulimit -v`), which is where libvips allocates. An
   * allocation over it fails that render only. @defaultValue no ceiling
   */
  memoryLimitMb?: number;
  onChildReplaced?: (reason: 'budget' | 'crash') => void;
}

/** The child died under a request (crash, OOM kill, a signal): tried once more in a fresh child. */
class ChildDied extends Error {
  constructor() {
    super('The image renderer died under this request.');
  }
}

interface Slot {
  child: ChildProcess;
  ready: Promise<void>;
  busy: boolean;
}

/**
 * A fixed set of render child processes. A render that overruns its budget is really stopped: its
 * child is SIGKILLed (freeing the core) and a fresh one takes the slot. A child that crashes on a
 * hostile image takes only that render down.
 */
export class RenderPool {
  private readonly slots: Slot[];
  private readonly waiting: Array<() => void> = [];
  private nextId = 1;
  private closed = false;
  private activeRenders = 0;
  private maxActiveRenders = 0;

  constructor(private readonly options: RenderPoolOptions) {
    this.slots = Array.from({ length: options.size }, () => {
      const slot = { ...this.spawnChild(), busy: false };
      this.watch(slot);
      return slot;
    });
  }

  /** Renders running now, and the most that ever ran at once (instrumentation for policy 1). */
  get stats(): { active: number; maxActive: number; size: number } {
    return { active: this.activeRenders, maxActive: this.maxActiveRenders, size: this.slots.length };
  }

  /** Process ids of the current children. */
  get pids(): number[] {
    return this.slots.map((slot) => slot.child.pid ?? 0);
  }

  async ready(): Promise<void> {
    await Promise.all(this.slots.map((slot) => slot.ready));
  }

  /**
   * Renders in a child. A file source is read by the child (no copy through the parent); a null
   * probe makes the child read the header too, under the same kill and limits as the render.
   */
  async render(source: ImageSource, probe: ImageProbe | null, transform: Transform, options: RenderOptions): Promise<RenderedVariant> {
    const reply = await this.ask({ id: this.nextId++, kind: 'render', source, probe, transform, options }, options.timeoutMs);
    if (!('variant' in reply)) throw new Error('render child answered a render without a variant');
    return { ...reply.variant, bytes: asBuffer(reply.variant.bytes) };
  }

  /**
   * Reads an original's header and checks the input limits in a child, under the same kill,
   * memory ceiling and loader restrictions as rendering: a hostile header never runs in the worker.
   */
  async probe(source: ImageSource, limits: ImageLimits, budgetMs: number, options: { placeholders?: boolean } = {}): Promise<ImageProbe> {
    // The placeholders' decode stops itself at half the budget, so a slow one never gets the probe killed.
    const placeholders = options.placeholders ? { placeholdersWithinMs: Math.floor(budgetMs / 2) } : {};
    const reply = await this.ask({ id: this.nextId++, kind: 'probe', source, limits, ...placeholders }, budgetMs);
    if (!('probe' in reply)) throw new Error('render child answered a probe without a probe');
    return reply.probe;
  }

  async close(): Promise<void> {
    this.closed = true;
    await Promise.all(
      this.slots.map(async (slot) => {
        if (slot.child.exitCode !== null || slot.child.signalCode !== null) return;
        const exited = once(slot.child, 'exit');
        slot.child.kill('SIGTERM');
        await exited;
      }),
    );
  }

  /**
   * Runs one request in a free child, killed (and replaced) past the budget. A child that dies
   * under a request may have died of something else (the OOM killer picking the biggest process,
   * a stray signal), so the request runs once more in the slot's fresh child, with what is left of
   * its budget; a second death on the same image is the image's doing: final, image_corrupt.
   */
  private async ask(request: SandboxRequestMessage, budgetMs: number): Promise<Extract<RenderReplyMessage, { ok: true }>> {
    const slot = await this.acquire();
    this.activeRenders++;
    this.maxActiveRenders = Math.max(this.maxActiveRenders, this.activeRenders);
    try {
      await this.readyChild(slot);
      const started = Date.now();
      try {
        return await this.askIn(slot, request, budgetMs);
      } catch (error) {
        if (!(error instanceof ChildDied)) throw error;
        // Stopped by close(): no fresh child comes, and the image is not to blame.
        if (this.closed) throw new ImageCloudError('unavailable', 'The image renderer was stopped; try again.', { retryAfterSeconds: 1 });
      }
      const leftMs = budgetMs - (Date.now() - started);
      if (leftMs <= 0) throw new ImageCloudError('processing_timeout', `The image renderer crashed and no time was left of the ${budgetMs} ms budget to try again.`);
      await this.readyChild(slot);
      const retry = request.kind === 'render' ? { ...request, id: this.nextId++, options: { ...request.options, timeoutMs: leftMs } } : { ...request, id: this.nextId++ };
      try {
        return await this.askIn(slot, retry, leftMs);
      } catch (error) {
        if (!(error instanceof ChildDied)) throw error;
        throw new ImageCloudError('image_corrupt', 'The image crashed the renderer twice; it is treated as corrupt.');
      }
    } finally {
      this.activeRenders--;
      this.release(slot);
    }
  }

  private async readyChild(slot: Slot): Promise<void> {
    await slot.ready.catch((error: unknown) => {
      throw new ImageCloudError('internal_error', 'The image renderer could not be started.', { cause: error });
    });
  }

  private askIn(slot: Slot, request: SandboxRequestMessage, budgetMs: number): Promise<Extract<RenderReplyMessage, { ok: true }>> {
    return new Promise((resolve, reject) => {
      const { child } = slot;
      const onMessage = (reply: RenderReplyMessage) => {
        if (!('id' in reply) || reply.id !== request.id) return;
        cleanup();
        if (reply.ok) resolve(reply);
        else reject(ImageCloudError.fromJSON(reply.error));
      };
      // The slot's watcher (an earlier 'exit' listener) has already put a fresh child in the slot.
      const onExit = () => {
        cleanup();
        reject(new ChildDied());
      };
      const timer = setTimeout(() => {
        cleanup();
        this.replace(slot, 'budget');
        reject(new ImageCloudError('processing_timeout', `Rendering the image took longer than its ${budgetMs} ms budget and was stopped.`));
      }, budgetMs + (this.options.killGraceMs ?? 250));
      const cleanup = () => {
        clearTimeout(timer);
        child.off('message', onMessage);
        child.off('exit', onExit);
      };
      child.on('message', onMessage);
      child.once('exit', onExit);
      child.send(request);
    });
  }

  private spawnChild(): Pick<Slot, 'child' | 'ready'> {
    const child = fork(this.options.childScript, [], {
      serialization: 'advanced',
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
      // glibc reserves 64 MiB of address space per thread arena (libvips, dav1d and librsvg threads):
      // unused, but it would count against the ceiling and fail ordinary AVIF and SVG renders.
      env: { ...process.env, RENDER_THREADS: String(this.options.threadsPerRender ?? 1), MALLOC_ARENA_MAX: '2' },
      ...memoryCeiling(this.options.memoryLimitMb),
    });
    const ready = new Promise<void>((resolve, reject) => {
      const onMessage = (message: { ready?: boolean }) => {
        if (message.ready) {
          child.off('message', onMessage);
          child.off('exit', onExit);
          resolve();
        }
      };
      const onExit = (code: number | null) => reject(new Error(`render child exited with code ${code} before it was ready`));
      child.on('message', onMessage);
      child.once('exit', onExit);
    });
    ready.catch(() => undefined);
    return { child, ready };
  }

  /**
   * Replaces the slot's child whenever it dies on its own: during a render, while idle (OOM
   * killer, a stray signal) or before it was ready. Without this a dead idle child would make the
   * next send() emit an unhandled 'error' and take the worker down.
   */
  private watch(slot: Slot): void {
    const { child } = slot;
    child.on('error', () => undefined); // e.g. send() on a closed channel; 'exit' follows
    child.once('exit', () => {
      if (slot.child === child && !this.closed) this.replace(slot, 'crash');
    });
  }

  /** Kills a child (if still alive) and puts a fresh one in its slot. */
  private replace(slot: Slot, reason: 'budget' | 'crash'): void {
    slot.child.removeAllListeners('message');
    if (slot.child.exitCode === null && slot.child.signalCode === null) slot.child.kill('SIGKILL');
    this.options.onChildReplaced?.(reason);
    if (this.closed) return;
    Object.assign(slot, this.spawnChild());
    this.watch(slot);
  }

  private async acquire(): Promise<Slot> {
    for (;;) {
      const free = this.slots.find((slot) => !slot.busy);
      if (free) {
        free.busy = true;
        return free;
      }
      await new Promise<void>((resolve) => this.waiting.push(resolve));
    }
  }

  private release(slot: Slot): void {
    slot.busy = false;
    this.waiting.shift()?.();
  }
}

/**
 * Address space Node reserves at start before doing anything (V8's code range and heap
 * reservations, about 1 GiB on x64, measured): an address-space limit counts from above it.
 */
const NODE_RESERVED_ADDRESS_SPACE_MB = 1024;

/**
 * Fork options that start the child under a memory ceiling: a POSIX shell sets the address-space
 * limit (`ulimit -v`, kept across exec; libvips' allocations fail past it instead of growing the
 * worker towards its container's OOM killer) and execs Node with a capped V8 heap. The IPC
 * channel's descriptor survives the exec.
 */
function memoryCeiling(memoryLimitMb: number | undefined): { execPath?: string; execArgv?: string[] } {
  if (memoryLimitMb === undefined) return {};
  const addressSpaceKb = (memoryLimitMb + NODE_RESERVED_ADDRESS_SPACE_MB) * 1024;
  return {
    execPath: '/bin/sh',
    execArgv: [
      '-c',
      `ulimit -v ${addressSpaceKb} || echo "render child: no address-space limit (ulimit -v failed)" >&2; exec "$0" "$@"`,
      process.execPath,
      `--max-old-space-size=${memoryLimitMb}`,
    ],
  };
}
