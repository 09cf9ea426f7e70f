import type { Transform } from '@image-cloud/contracts';
import type { SerializedError } from '@image-cloud/errors';
import type { ImageProbe, ImageSource, RenderOptions, RenderedVariant } from '@image-cloud/imaging';

/** Bytes as they arrive over IPC (a Uint8Array view), as a Buffer without copying. */
export function asBuffer(bytes: Uint8Array): Buffer {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

/** Parent → child: render one variant. Without a probe the child reads the header itself. */
export interface RenderRequestMessage {
  id: number;
  source: ImageSource;
  probe: ImageProbe | null;
  transform: Transform;
  options: RenderOptions;
}

/** Child → parent: the variant, or the error it failed with. */
export type RenderReplyMessage =
  | { id: number; ok: true; variant: Omit<RenderedVariant, 'bytes'> & { bytes: Uint8Array } }
  | { id: number; ok: false; error: SerializedError };

/** Child → parent once sharp is loaded and configured. */
export interface ChildReadyMessage {
  ready: true;
}
