import { existsSync, readFileSync } from 'node:fs';
import { SourceMap } from 'node:module';
import { fileURLToPath } from 'node:url';

/**
 * Self time of a `node --cpu-prof` profile, per function and per area of the hit path, inside a
 * time window (the profile's clock is CLOCK_MONOTONIC like process.hrtime, so the benchmark's own
 * timestamps select the load phase and leave start-up and warm-up out). Frames of the bundled apps
 * are mapped back to their source file with the bundle's source map, so libs stay apart.
 */

interface ProfileNode {
  id: number;
  children?: number[];
  callFrame: { functionName: string; url: string; lineNumber: number; columnNumber: number };
}

interface CpuProfile {
  nodes: ProfileNode[];
  startTime: number;
  samples: number[];
  timeDeltas: number[];
}

export interface FunctionSelfTime {
  area: string;
  name: string;
  source: string;
  selfUs: number;
}

/** Areas of a hit, first match wins; `source` is the original file (bundle frames mapped) or the frame's URL. */
const AREAS: Array<[string, RegExp]> = [
  ['idle (waiting for I/O)', /^\(idle\)$/],
  ['garbage collection', /^\(garbage collector\)$/],
  ['V8/native, not attributed', /^\(program\)$|^\(root\)$/],
  ['express routing and middleware', /node_modules\/(express|router|finalhandler|body-parser|path-to-regexp|parseurl|on-finished|on-headers|type-is|content-type|mime-types|mime-db|accepts|negotiator|vary|fresh|etag|depd|debug|encodeurl|escape-html|statuses|cookie|proxy-addr|forwarded|range-parser|qs|send|serve-static|merge-descriptors|utils-merge|setprototypeof|http-errors|ee-first|unpipe|content-disposition)\//],
  ['parameter parsing (zod)', /node_modules\/zod\/|libs\/contracts\//],
  ['request log and metrics', /libs\/(logger|metrics)\/|apps\/service-server\/src\/(http\/request-log|http\/route-label|routes\/metrics-routes)|node_modules\/(prom-client|tdigest|bintrees)\//],
  ['authentication and rate limiter (Redis)', /libs\/tenant-auth\/|node_modules\/(ioredis|redis-parser|redis-errors|denque|cluster-key-slot|standard-as-callback)\/|node:internal\/crypto/],
  ['storage lookup (fs)', /libs\/(storage|storage-cache|storage-backend|s3-storage)\/|^node:fs$|node:internal\/fs\//],
  ['HTTP caching headers', /libs\/http-caching\//],
  ['the app (routes, image service)', /apps\/service-server\/|libs\/(image-service|errors|origin-protection|config|lane-policy|job-queue)\//],
  ['node HTTP, sockets and streams (parse + write)', /^node:(_http_|http|net|stream|internal\/(http|streams|stream_base|net|timers|url|querystring|errors|buffer|util|process|async_hooks|event_target|validators)|events|buffer|url|querystring|timers)/],
];

function areaOf(functionName: string, source: string): string {
  for (const [area, pattern] of AREAS) if (pattern.test(functionName) || pattern.test(source)) return area;
  return source ? 'other JS' : 'native (built-ins, no script)';
}

const sourceMaps = new Map<string, SourceMap | null>();

function originalSource(url: string, line: number, column: number): string {
  if (!url.startsWith('file://')) return url;
  const path = fileURLToPath(url);
  if (!sourceMaps.has(path)) {
    const mapPath = `${path}.map`;
    sourceMaps.set(path, existsSync(mapPath) ? new SourceMap(JSON.parse(readFileSync(mapPath, 'utf8'))) : null);
  }
  const map = sourceMaps.get(path);
  const entry = map?.findEntry(line, column) as { originalSource?: string } | undefined;
  return entry?.originalSource ?? path;
}

/** Self time per function between `fromUs` and `toUs` (process.hrtime µs); all samples when the window holds none. */
export function selfTimes(profilePath: string, fromUs: number, toUs: number): { functions: FunctionSelfTime[]; windowUs: number } {
  const profile = JSON.parse(readFileSync(profilePath, 'utf8')) as CpuProfile;
  const byId = new Map(profile.nodes.map((node) => [node.id, node]));
  const parentOf = new Map<number, number>();
  for (const node of profile.nodes) for (const child of node.children ?? []) parentOf.set(child, node.id);
  // A native built-in (writev, readFileUtf8, Hash…) has no script: it counts for the area of the
  // nearest caller that has one, so fs reads land in storage and socket writes in HTTP.
  const callerSource = (id: number): string => {
    for (let at = parentOf.get(id); at !== undefined; at = parentOf.get(at)) {
      const frame = byId.get(at)!.callFrame;
      if (frame.url) return originalSource(frame.url, frame.lineNumber, frame.columnNumber);
    }
    return '';
  };
  const times: number[] = [];
  let at = profile.startTime;
  for (const delta of profile.timeDeltas) times.push((at += delta));
  const inWindow = times.some((t) => t >= fromUs && t < toUs);
  const selfById = new Map<number, number>();
  for (let i = 0; i + 1 < profile.samples.length; i++) {
    if (inWindow && (times[i] < fromUs || times[i] >= toUs)) continue;
    selfById.set(profile.samples[i], (selfById.get(profile.samples[i]) ?? 0) + (times[i + 1] - times[i]));
  }
  const byFunction = new Map<string, FunctionSelfTime>();
  for (const [id, selfUs] of selfById) {
    const frame = byId.get(id)!.callFrame;
    const source = originalSource(frame.url, frame.lineNumber, frame.columnNumber).replace(/^.*?\/(node_modules|libs|apps)\//, '$1/');
    const name = frame.functionName || '(anonymous)';
    const native = !frame.url && !name.startsWith('(');
    const ownArea = areaOf(name, source);
    // Likewise node's own helpers outside HTTP and fs (path.join, AbortController…): their caller's area.
    const byCaller = native || (ownArea === 'other JS' && source.startsWith('node:'));
    const area = byCaller ? areaOf(name, callerSource(id).replace(/^.*?\/(node_modules|libs|apps)\//, '$1/')) : ownArea;
    const key = `${name}@${source}:${frame.url ? frame.lineNumber : ''}@${area}`;
    const entry = byFunction.get(key) ?? { area, name: native ? `${name} (native)` : name, source, selfUs: 0 };
    entry.selfUs += selfUs;
    byFunction.set(key, entry);
  }
  const windowUs = inWindow ? toUs - fromUs : times[times.length - 1] - profile.startTime;
  return { functions: [...byFunction.values()].sort((a, b) => b.selfUs - a.selfUs), windowUs };
}
