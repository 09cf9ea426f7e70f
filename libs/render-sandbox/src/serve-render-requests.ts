import { toImageCloudError } from '@image-cloud/errors';
import { type ImageProbe, type ImageLimits, computePlaceholders, configureSharp, probeImage, readImageSource, renderVariant } from '@image-cloud/imaging';
import { type ChildReadyMessage, type RenderReplyMessage, type SandboxRequestMessage, asBuffer } from './render-messages';

/** Placeholders are extra: an image they cannot be computed for still gets stored (null: tried, failed). */
async function placeholdersOf(bytes: Buffer, limits: ImageLimits, timeoutMs: number): Promise<ImageProbe['placeholders']> {
  try {
    return await computePlaceholders(bytes, { maxPixels: limits.maxPixels, timeoutMs });
  } catch {
    return null;
  }
}

/**
 * The body of a render child process: renders one request at a time for its parent, which kills
 * and replaces it when a render overruns its budget. Exits when the parent goes away.
 */
export function serveRenderRequests(): void {
  if (!process.send) throw new Error('serveRenderRequests must run in a child process started with an IPC channel');
  configureSharp({ threadsPerJob: Number(process.env['RENDER_THREADS'] ?? 1) });
  process.on('message', async (message: SandboxRequestMessage) => {
    let reply: RenderReplyMessage;
    try {
      // Bytes that crossed IPC arrive as a plain Uint8Array.
      const source = 'bytes' in message.source ? { bytes: asBuffer(message.source.bytes) } : message.source;
      const bytes = await readImageSource(source);
      if (message.kind === 'probe') {
        const probe = await probeImage(bytes, message.limits);
        if (message.placeholdersWithinMs !== undefined) probe.placeholders = await placeholdersOf(bytes, message.limits, message.placeholdersWithinMs);
        process.send!({ id: message.id, ok: true, probe } satisfies RenderReplyMessage);
        return;
      }
      const probe = message.probe ?? (await probeImage(bytes, message.options.limits));
      const variant = await renderVariant(bytes, probe, message.transform, message.options);
      reply = { id: message.id, ok: true, variant };
    } catch (error) {
      reply = { id: message.id, ok: false, error: toImageCloudError(error).toJSON() };
    }
    process.send!(reply);
  });
  process.on('disconnect', () => process.exit(0));
  process.send({ ready: true } satisfies ChildReadyMessage);
}
