import { z } from 'zod';

/** The JSON answers of the HTTP API that are not wire contracts between processes (those are in contracts). */

const count = z.number().int().min(0);

const orientation = z.number().int().min(1).max(8).optional().meta({ description: 'EXIF orientation, when the image has one.' });

/** What image_info and no_image both say about an original: width and height as displayed (EXIF orientation applied). */
const originalBasicsSchema = z.object({
  width: count,
  height: count,
  format: z.string().meta({ description: "sharp's format name: jpeg, png, webp, gif, heif, tiff, svg …" }),
  bytes: count,
  frames: z.number().int().min(1),
  contentType: z.string(),
});

/** `GET /image_info`: what a page needs to lay the image out before it loads. */
export const imageInfoSchema = originalBasicsSchema.extend({
  displayWidth: count.meta({ description: 'Width as displayed, after EXIF orientation (orientations 5–8 swap the stored sides).' }),
  displayHeight: count.meta({ description: 'Height as displayed, after EXIF orientation.' }),
  orientation,
  hasAlpha: z.boolean().meta({ description: 'Whether the image has an alpha channel.' }),
  dominantColor: z
    .string()
    .regex(/^#[0-9a-f]{6}$/)
    .optional()
    .meta({ description: 'The dominant colour, #rrggbb; absent only when the image could not be decoded for it.' }),
  thumbHash: z
    .string()
    .optional()
    .meta({ description: 'ThumbHash (https://evanw.github.io/thumbhash/) of the image, base64: a blurred preview with the aspect ratio and alpha.' }),
});

/** `GET /get_image?no_image=true`: the cached original's metadata. */
export const originalInfoSchema = originalBasicsSchema.extend({
  url: z.string(),
  orientation,
  fetchedAt: z.string().meta({ description: 'ISO 8601: when the original was downloaded.' }),
  etag: z.string().meta({ description: 'Strong ETag of the original bytes, quoted.' }),
});

/** `DELETE /delete_image`. */
export const deleteResultSchema = z.object({ url: z.string(), deleted: z.boolean(), objectsRemoved: count });

/** `GET /alternative_clouds`: the peers asked before an origin with use_alternative_clouds. */
export const alternativeCloudsSchema = z.object({ alternative_clouds: z.array(z.string()) });

export const healthSchema = z.object({ status: z.literal('ok') });
export const readinessSchema = z.object({ status: z.literal('ready') });

/** `POST /fire_and_forget`. */
export const fireAndForgetBodySchema = z.object({
  urls: z.array(z.string()).max(200_000).meta({ description: 'Origin URLs to fetch and cache; up to 200 000.' }),
  placeholders: z
    .boolean()
    .optional()
    .meta({ description: "Also compute each original's layout placeholders (dominantColor, thumbHash of image_info) ahead. Default false." }),
});
