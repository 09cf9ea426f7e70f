import { z } from 'zod';
import { MAX_DIMENSION, OUTPUT_FORMATS, type OutputFormat } from '@image-cloud/contracts';
import { decimalNumber, flag, oneOf, oneOfNumbers, originUrlField, wholeNumber } from './query-fields';

/** Spellings of a format the existing clients send (Pillow's names). */
export const FORMAT_ALIASES: Readonly<Record<string, OutputFormat>> = { jpg: 'jpeg', tif: 'tiff' };

/** format_when_resize=auto: AVIF, WebP or JPEG as the request's Accept header allows. */
export const NEGOTIATED_FORMAT = 'auto';

/** What format_when_resize accepts: the formats, then auto, then the aliases. */
const FORMAT_NAMES = [...OUTPUT_FORMATS, NEGOTIATED_FORMAT, ...Object.keys(FORMAT_ALIASES)] as [string, ...string[]];

/** Device pixel ratio: 1 to 4, decimals allowed. */
export const MAX_DPR = 4;

/** Spellings of the old documentation that existing clients send, and the parameter each means. */
export const OLD_SPELLINGS: Readonly<Record<string, string>> = { use_alternativ_clouds: 'use_alternative_clouds' };

/** Parameters get_image and get_thumbnail share, after their own. */
const sharedImageParams = {
  use_alternative_clouds: flag(false).meta({
    description: 'Ask the configured peer clouds (only what they have cached) before the origin. The old spelling use_alternativ_clouds means the same.',
  }),
  only_send_if_local: flag(false).meta({ description: 'Answer only from the local cache, never download (404 not_cached).' }),
  v: z
    .string()
    .optional()
    .meta({ description: 'A version of the page\'s choosing: the answer is cached as immutable for a year. Change it to get new bytes.' }),
};

/** The query of `GET /get_image`, in the existing clients' names and defaults. */
export const getImageQuerySchema = z.object({
  url: originUrlField,
  resize_width: wholeNumber(1, MAX_DIMENSION).optional().meta({ description: 'Width of the target box in pixels; without a width and a height the original bytes are answered untouched.' }),
  resize_height: wholeNumber(1, MAX_DIMENSION).optional().meta({ description: 'Height of the target box in pixels.' }),
  keep_aspect_ratio: flag(true).meta({ description: 'true: fit inside the box, never enlarged; false: exactly the box, stretched.' }),
  force_to_size: flag(false).meta({ description: 'Exactly the box: fitted (never enlarged) and centred on white. Needs both resize_width and resize_height.' }),
  format_when_resize: oneOf(FORMAT_NAMES, [...OUTPUT_FORMATS, NEGOTIATED_FORMAT])
    .optional()
    .meta({
      default: 'jpeg',
      description:
        `Output format of a resized image, any case (${Object.entries(FORMAT_ALIASES).map(([alias, format]) => `${alias} = ${format}`).join(', ')}). ` +
        'auto: AVIF, WebP or JPEG as the Accept header lists image/avif or image/webp (PNG for an image with alpha when neither is accepted), answered with Vary: Accept. ' +
        'Without the parameter: jpeg, or auto for signed URLs when the server is configured so (server.signedUrlFormat).',
    }),
  dpr: decimalNumber(1, MAX_DPR)
    .optional()
    .meta({ default: 1, description: 'Device pixel ratio (1 to 4, decimals allowed): multiplies resize_width and resize_height, within the output limits.' }),
  quality: wholeNumber(1, 100)
    .optional()
    .meta({ description: 'Encoder quality of jpeg, webp and avif (1 to 100); the default is the configured render quality (avif: 30 less). Ignored for lossless formats.' }),
  no_image: flag(false).meta({ description: 'Make sure the original is cached and answer its metadata as JSON instead of an image.' }),
  ...sharedImageParams,
});

/** The query of `GET /get_thumbnail`: a square JPEG box of one of the configured sizes. */
export function getThumbnailQuerySchema(thumbnailSizes: readonly number[]) {
  return z.object({
    url: originUrlField,
    size: oneOfNumbers(thumbnailSizes as [number, ...number[]]).meta({ description: 'Side of the square box in pixels, one of the configured thumbnail sizes.' }),
    ...sharedImageParams,
  });
}

/** The query of `GET /image_info` and `DELETE /delete_image`. */
export const imageUrlQuerySchema = z.object({ url: originUrlField });
