// Preloaded (NODE_OPTIONS=--require) into the cluster's processes by bench/lib/s3-requests.ts:
// counts every HTTP request this process sends to the S3 endpoint, by method, object kind and
// status, in 100 ms buckets of the monotonic clock (shared by all processes, so the benchmark
// can pick its measured phase), and writes them to S3_REQUEST_COUNT_DIR when the process exits.
'use strict';
const diagnostics = require('node:diagnostics_channel');
const { writeFileSync } = require('node:fs');
const { join } = require('node:path');

const port = process.env.S3_REQUEST_COUNT_PORT;
const dir = process.env.S3_REQUEST_COUNT_DIR;
const script = process.argv[1] || '';
const role = script.includes('service-server') ? 'server' : script.endsWith(join('image-worker', 'main.js')) ? `worker (${process.env.WORKER_LANE} lane)` : null;

if (port && dir && role) {
  const buckets = {};
  const kindOf = (path) => {
    const name = path.split('?')[0];
    if (name.includes('/variants/')) return 'variant record';
    if (name.endsWith('/original.json')) return 'original record';
    if (name.includes('/data/')) return 'data';
    return 'other';
  };
  diagnostics.subscribe('http.client.response.finish', ({ request, response }) => {
    if (!String(request.getHeader('host') || '').endsWith(`:${port}`)) return;
    const bucket = Number(process.hrtime.bigint() / 100000000n);
    const key = `${request.method} ${kindOf(request.path)} ${response.statusCode}`;
    const counts = (buckets[bucket] ??= {});
    counts[key] = (counts[key] ?? 0) + 1;
  });
  process.on('exit', () => writeFileSync(join(dir, `${process.pid}.json`), JSON.stringify({ role, buckets })));
}
