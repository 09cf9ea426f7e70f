import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { type RenderJob, type Transform, renderJobFor } from '@image-cloud/contracts';
import { ImageCloudError } from '@image-cloud/errors';
import { makeImage } from '@image-cloud/imaging/testing';
import { type CostTable, LanePolicy, type RenderWork } from '@image-cloud/lane-policy';
import { LocalDirectoryStorage } from '@image-cloud/storage';
import { type RenderCostPort, type Renderer, createRenderPipeline } from '../src';

/** The render pipeline's steps through its ports: a fake renderer and cost model, a real directory. */

const transform: Transform = { width: 50, fit: 'inside', format: 'png' };
const lanes = new LanePolicy({ normalBudgetMs: 200, bigBudgetMs: 400, bigLanePixels: 1_000_000, bigLaneBytes: 10_000_000 });

let dataDir: string;
let storage: LocalDirectoryStorage;
let costs: RenderCostPort & { renders: Array<[RenderWork, number]>; overruns: Array<[RenderWork, number]>; table_: CostTable };

/** A renderer that takes `ms` (or fails as the pool does when it kills a render over budget). */
function renderer(ms: number, calls: string[] = []): Renderer {
  return async (_bytes, _probe, t, options) => {
    calls.push(`render ${t.width}`);
    if (ms > options.timeoutMs) {
      await sleep(options.timeoutMs);
      throw new ImageCloudError('processing_timeout', 'over budget');
    }
    await sleep(ms);
    return { bytes: Buffer.from('variant'), contentType: 'image/png', format: 'png', width: 50, height: 50, frames: 1 };
  };
}

async function storedJob(name: string, lane: RenderJob['lane'] = 'sync-normal', size = { width: 100, height: 100 }): Promise<RenderJob> {
  const job = renderJobFor(`http://origin.test/${name}.png`, lane, transform);
  await storage.putOriginal(job.originalKey, await makeImage({ ...size, format: 'png' }), {
    url: job.url,
    contentType: 'image/png',
    width: size.width,
    height: size.height,
    format: 'png',
    frames: 1,
    hasAlpha: false,
    fetchedAt: new Date().toISOString(),
  });
  return job;
}

beforeEach(async () => {
  dataDir = await mkdtemp(join(tmpdir(), 'render-pipeline-'));
  storage = new LocalDirectoryStorage({ dataDir });
  costs = {
    renders: [],
    overruns: [],
    table_: new Map(),
    table: async () => costs.table_,
    recordRender: async (work, ms) => void costs.renders.push([work, ms]),
    recordOverrun: async (work, ms) => void costs.overruns.push([work, ms]),
  };
});

afterEach(async () => {
  await rm(dataDir, { recursive: true, force: true });
});

const pipelineWith = (render: Renderer) => createRenderPipeline({ storage, limits: { maxPixels: 1e8, maxFrames: 100 }, quality: 80, render, lanes, costs });

it('renders, stores the variant with its lane, and teaches the cost model', async () => {
  const job = await storedJob('a');
  const outcome = await pipelineWith(renderer(5)).run(job);
  expect(outcome).toMatchObject({ kind: 'done', size: 'normal' });
  expect(await storage.getVariantMeta(job.originalKey, job.variantKey)).toMatchObject({ lane: 'normal', width: 50 });
  expect(costs.renders).toHaveLength(1);
  expect(costs.renders[0]![0]).toMatchObject({ key: 'png>png' });
});

it('does nothing for a variant already stored', async () => {
  const job = await storedJob('b');
  await pipelineWith(renderer(1)).run(job);
  const calls: string[] = [];
  expect(await pipelineWith(renderer(1, calls)).run(job)).toEqual({ kind: 'done', size: 'normal', renderMs: null });
  expect(calls).toEqual([]);
});

it('sends a header giant to the big lane before rendering', async () => {
  const job = await storedJob('giant', 'sync-normal', { width: 1200, height: 1000 });
  const calls: string[] = [];
  expect(await pipelineWith(renderer(1, calls)).run(job)).toEqual({ kind: 'reroute', reason: 'header' });
  expect(calls).toEqual([]);
  expect(await pipelineWith(renderer(1, calls)).run({ ...job, lane: 'sync-big' })).toMatchObject({ kind: 'done', size: 'big' });
});

it('sends a render the cost model predicts over budget to the big lane before rendering', async () => {
  const job = await storedJob('predicted', 'sync-normal', { width: 990, height: 990 });
  costs.table_ = new Map([['png>png', { msPerUnit: 1_000, at: Date.now() }]]);
  const calls: string[] = [];
  // 0.98 megapixel-frames is under the model's floor: small renders never leave on a prediction.
  expect(await pipelineWith(renderer(1, calls)).run(job)).toMatchObject({ kind: 'done' });
  const big = await storedJob('predicted-big', 'sync-normal', { width: 990, height: 990 });
  const wide = { ...big, transform: { width: 4000, fit: 'fill' as const, format: 'png' as const } };
  expect(await pipelineWith(renderer(1, calls)).run(wide)).toEqual({ kind: 'reroute', reason: 'predicted' });
});

it('moves a normal-lane render over budget to the big lane and records the overrun', async () => {
  const job = await storedJob('slow');
  expect(await pipelineWith(renderer(1_000)).run(job)).toEqual({ kind: 'reroute', reason: 'budget' });
  expect(costs.overruns).toHaveLength(1);
  expect(costs.overruns[0]![1]).toBe(200);
  expect(await storage.getVariantMeta(job.originalKey, job.variantKey)).toBeNull();
});

it('fails a big-lane render over budget with a final processing_timeout', async () => {
  const job = await storedJob('slower', 'sync-big');
  await expect(pipelineWith(renderer(1_000)).run(job)).rejects.toMatchObject({ code: 'processing_timeout', retryable: false, negativelyCacheable: true });
});

it('checks the deadline between steps, but never throws a finished render away', async () => {
  const job = await storedJob('late');
  const slowTable: RenderCostPort = { ...costs, table: async () => (await sleep(250), new Map()) };
  const late = createRenderPipeline({ storage, limits: { maxPixels: 1e8, maxFrames: 100 }, quality: 80, render: renderer(1), lanes, costs: slowTable });
  expect(await late.run(job)).toEqual({ kind: 'reroute', reason: 'budget' });
  // A render that returns after the deadline (the renderer's own wait) is stored all the same.
  const job2 = await storedJob('late-2');
  const waitsThenRenders: Renderer = async (...args) => (await sleep(250), renderer(1)(...args));
  expect(await pipelineWith(waitsThenRenders).run(job2)).toMatchObject({ kind: 'done' });
});

it('fails a job whose original is gone (delete_image raced it) with a retryable error', async () => {
  await expect(pipelineWith(renderer(1)).run(renderJobFor('http://origin.test/never.png', 'sync-normal', transform))).rejects.toMatchObject({
    code: 'unavailable',
    retryable: true,
  });
});
