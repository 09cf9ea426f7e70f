import { z } from 'zod';

/** What crosses the wire for fire_and_forget batches: the receipt of POST, the progress of GET. */

const count = z.number().int().min(0);

/** A batch id: in the URL of its progress and in each of its fetch jobs. */
export const batchIdSchema = z.string().regex(/^[A-Za-z0-9_-]{1,64}$/);

/** The submission counts of a batch: every URL is accepted, a duplicate, or rejected. */
export const batchCountsSchema = z.object({ total: count, accepted: count, duplicate: count, rejected: count });

/** A URL of the batch that was refused, by its place in the list. */
export const rejectionSchema = z.object({ index: count, url: z.string(), reason: z.string() });

/** 202 answer to POST /fire_and_forget. `rejections` lists the first ones only; `rejected` counts them all. */
export const batchReceiptSchema = batchCountsSchema.extend({ batchId: batchIdSchema, rejections: z.array(rejectionSchema) });

/** Answer to GET /fire_and_forget/<batchId>; the workers count each prefetch once it has ended for good. */
export const batchProgressSchema = batchCountsSchema.extend({
  batchId: batchIdSchema,
  /** The tenant that submitted the batch; null when the cloud runs open. */
  tenant: z.string().nullable(),
  /** ISO 8601. */
  createdAt: z.string(),
  done: count,
  /** Final failures by error code. */
  failed: z.record(z.string(), count),
  pending: count,
  complete: z.boolean(),
});

export type BatchCounts = z.infer<typeof batchCountsSchema>;
export type Rejection = z.infer<typeof rejectionSchema>;
export type BatchReceipt = z.infer<typeof batchReceiptSchema>;
export type BatchProgress = z.infer<typeof batchProgressSchema>;
