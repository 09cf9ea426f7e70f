import type { OutputFormat } from '@image-cloud/contracts';

/** The formats a browser may ask for by name, best first when it rates them equally. */
const NEGOTIABLE: readonly { type: string; format: OutputFormat }[] = [
  { type: 'image/avif', format: 'avif' },
  { type: 'image/webp', format: 'webp' },
];

/**
 * The quality (q) an Accept header gives each media type it names explicitly. Wildcards
 * (`*\/*`, `image/*`) are left out on purpose: every browser sends them, so they say nothing about
 * AVIF or WebP support.
 */
export function explicitlyAccepted(accept: string | undefined): Map<string, number> {
  const accepted = new Map<string, number>();
  for (const part of (accept ?? '').split(',')) {
    const [type, ...params] = part.split(';').map((piece) => piece.trim().toLowerCase());
    if (!type || type.includes('*')) continue;
    const q = params.find((param) => /^q\s*=/.test(param));
    const weight = q === undefined ? 1 : Number(q.slice(q.indexOf('=') + 1));
    if (!Number.isFinite(weight)) continue;
    accepted.set(type, Math.max(accepted.get(type) ?? 0, weight));
  }
  return accepted;
}

/**
 * format_when_resize=auto: AVIF or WebP when the Accept header names it (the higher q wins, AVIF on
 * a tie), else JPEG, or PNG for an image with alpha, which JPEG would lose (AVIF and WebP keep it).
 * `hasAlpha` is asked only when neither AVIF nor WebP is accepted, so a hit needs no metadata read.
 */
export async function negotiateFormat(accept: string | undefined, hasAlpha: () => Promise<boolean>): Promise<OutputFormat> {
  return formatFromAccept(accept) ?? ((await hasAlpha()) ? 'png' : 'jpeg');
}

/** What negotiateFormat picks from the Accept header alone: AVIF or WebP, or undefined when the image's alpha decides. */
export function formatFromAccept(accept: string | undefined): OutputFormat | undefined {
  const accepted = explicitlyAccepted(accept);
  let best: { format: OutputFormat; q: number } | undefined;
  for (const { type, format } of NEGOTIABLE) {
    const q = accepted.get(type) ?? 0;
    if (q > 0 && (best === undefined || q > best.q)) best = { format, q };
  }
  return best?.format;
}
