import type { Transform } from '@image-cloud/contracts';
import type { SerializedError } from '@image-cloud/errors';
import type { ImageLimits, ImageProbe, ImageSource, RenderOptions, RenderedVariant } from '@image-cloud/imaging';

/** Bytes as they arrive over IPC (a Uint8Array view), as a Buffer without copying. */
export function asBuffer(bytes: Uint8Array): Buffer {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

/** Parent → child: render one variant. Without a probe the child reads the header itself. */
export interface RenderRequestMessage {
  id: number;
  kind: 'render';
  source: ImageSource;
  probe: ImageProbe | null;
  transform: Transform;
  options: RenderOptions;
}

/** Parent → child: read an original's header and check the input limits (the fetch stage's probe). */
export interface ProbeRequestMessage {
  id: number;
  kind: 'probe';
  source: ImageSource;
  limits: ImageLimits;
  /** Also decode for the layout placeholders, within this many ms (less than the probe's kill budget). */
  placeholdersWithinMs?: number;
}

export type SandboxRequestMessage = RenderRequestMessage | ProbeRequestMessage;

/** Child → parent: the variant or the probe, or the error it failed with. */
export type RenderReplyMessage =
  | { id: number; ok: true; variant: Omit<RenderedVariant, 'bytes'> & { bytes: Uint8Array } }
  | { id: number; ok: true; probe: ImageProbe }
  | { id: number; ok: false; error: SerializedError };

/** Child → parent once sharp is loaded and configured. */
export interface ChildReadyMessage {
  ready: true;
}
