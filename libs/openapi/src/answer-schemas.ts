import { z } from 'zod';

/** The JSON answers of the HTTP API that are not wire contracts between processes (those are in contracts). */

const count = z.number().int().min(0);

/** `GET /image_info`: width and height as displayed (EXIF orientation applied). */
export const imageInfoSchema = z.object({
  width: count,
  height: count,
  format: z.string().meta({ description: "sharp's format name: jpeg, png, webp, gif, heif, tiff, svg …" }),
  bytes: count,
  frames: z.number().int().min(1),
  contentType: z.string(),
});

/** `GET /get_image?no_image=true`: the cached original's metadata. */
export const originalInfoSchema = imageInfoSchema.extend({
  url: z.string(),
  orientation: z.number().int().min(1).max(8).optional().meta({ description: 'EXIF orientation, when the image has one.' }),
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
});
