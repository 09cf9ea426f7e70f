import { z } from 'zod';
import { MAX_DIMENSION, OUTPUT_FORMATS, type OutputFormat } from '@image-cloud/contracts';
import { flag, oneOf, oneOfNumbers, originUrlField, wholeNumber } from './query-fields';

/** Spellings of a format the existing clients send. */
export const FORMAT_ALIASES: Readonly<Record<string, OutputFormat>> = { jpg: 'jpeg', tif: 'tiff' };

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
  format_when_resize: oneOf([...OUTPUT_FORMATS, ...Object.keys(FORMAT_ALIASES)] as [string, ...string[]], OUTPUT_FORMATS)
    .default('jpeg')
    .meta({ description: `Output format of a resized image (${Object.entries(FORMAT_ALIASES).map(([alias, format]) => `${alias} = ${format}`).join(', ')}); any case.` }),
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
