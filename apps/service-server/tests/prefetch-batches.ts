import { setTimeout as sleep } from 'node:timers/promises';
import { type BatchProgress, batchProgressSchema, batchReceiptSchema } from '@image-cloud/contracts';

function headersFor(token?: string): Record<string, string> {
  return { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) };
}

/** POSTs the URLs to `<base>/fire_and_forget` and returns the batch id (throws unless 202). */
export async function submitBatch(base: string, urls: string[], token?: string): Promise<string> {
  const response = await fetch(`${base}/fire_and_forget`, { method: 'POST', headers: headersFor(token), body: JSON.stringify({ urls }) });
  if (response.status !== 202) throw new Error(`fire_and_forget answered ${response.status}: ${await response.text()}`);
  return batchReceiptSchema.parse(await response.json()).batchId;
}

export async function batchProgress(base: string, batchId: string, token?: string): Promise<BatchProgress> {
  const response = await fetch(`${base}/fire_and_forget/${batchId}`, { headers: headersFor(token) });
  if (!response.ok) throw new Error(`batch progress answered ${response.status}: ${await response.text()}`);
  return batchProgressSchema.parse(await response.json());
}

/** Polls the batch until it is complete or `timeoutMs` passed; returns the last progress seen. */
export async function waitForBatch(base: string, batchId: string, timeoutMs: number, token?: string): Promise<BatchProgress> {
  const giveUpAt = Date.now() + timeoutMs;
  let progress = await batchProgress(base, batchId, token);
  while (!progress.complete && Date.now() < giveUpAt) {
    await sleep(250);
    progress = await batchProgress(base, batchId, token);
  }
  return progress;
}
