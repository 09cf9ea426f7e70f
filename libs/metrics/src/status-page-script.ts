/**
 * The status page's script, run in the browser: polls /metrics, parses Prometheus's text format
 * and shows the differences between two polls. Plain ES2020, no framework, no build step; kept as
 * a string so the server can send it inline under a Content-Security-Policy hash.
 */
export const STATUS_PAGE_SCRIPT = String.raw`
'use strict';
const POLL_MS = 2000;
const OWN_ROUTES = new Set(['/metrics', '/status', '/healthz', '/readyz']);
const reroutes = [];
let previous = null;

function parse(text) {
  const samples = [];
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const match = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)/.exec(line);
    if (!match) continue;
    const labels = {};
    for (const pair of (match[2] || '').matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g)) labels[pair[1]] = pair[2];
    samples.push({ name: match[1], labels, value: Number(match[3]) });
  }
  return samples;
}

function sumBy(samples, name, keyOf, filter) {
  const sums = new Map();
  for (const s of samples) {
    if (s.name !== name || (filter && !filter(s.labels))) continue;
    const key = keyOf(s.labels);
    sums.set(key, (sums.get(key) || 0) + s.value);
  }
  return sums;
}

// Every server process reads the same queues and live slots from Redis: the reading once, not once
// per process (as the dashboards' max by).
function maxBy(samples, name, keyOf) {
  const maxima = new Map();
  for (const s of samples) {
    if (s.name !== name) continue;
    const key = keyOf(s.labels);
    maxima.set(key, Math.max(maxima.get(key) ?? -Infinity, s.value));
  }
  return maxima;
}

const total = (map) => [...map.values()].reduce((a, b) => a + b, 0);
const delta = (now, before, key) => Math.max(0, (now.get(key) || 0) - ((before && before.get(key)) || 0));
const fixed = (value, digits) => (Number.isFinite(value) ? value.toFixed(digits) : '–');
const percent = (part, whole) => (whole > 0 ? fixed((100 * part) / whole, 1) + ' %' : '–');

function cell(row, text, className) {
  const td = document.createElement('td');
  td.textContent = String(text);
  if (className) td.className = className;
  row.appendChild(td);
}

function fillTable(id, rows) {
  const body = document.querySelector('#' + id + ' tbody');
  body.replaceChildren();
  for (const values of rows) {
    const tr = document.createElement('tr');
    values.forEach((value, i) => cell(tr, value, i > 0 ? 'number' : ''));
    body.appendChild(tr);
  }
  if (rows.length === 0) {
    const tr = document.createElement('tr');
    cell(tr, 'none yet', 'quiet');
    tr.firstChild.colSpan = document.querySelectorAll('#' + id + ' thead th').length;
    body.appendChild(tr);
  }
}

function show(id, text) {
  document.getElementById(id).textContent = text;
}

function reading(samples, at) {
  const notOwn = (l) => !OWN_ROUTES.has(l.route);
  return {
    at,
    requests: sumBy(samples, 'image_cloud_http_requests_total', () => 'all', notOwn),
    errors: sumBy(samples, 'image_cloud_http_errors_total', (l) => l.code, notOwn),
    cache: sumBy(samples, 'image_cloud_http_request_duration_seconds_count', (l) => l.cache, (l) => l.cache !== 'none'),
    queues: maxBy(samples, 'image_cloud_queue_jobs', (l) => l.queue + '|' + l.state),
    slotsAlive: maxBy(samples, 'image_cloud_worker_slots_alive', (l) => l.size),
    workerSlots: sumBy(samples, 'image_cloud_worker_slots', (l) => l.role + '-' + l.index, (l) => l.stage === 'render'),
    workerActive: sumBy(samples, 'image_cloud_worker_active_jobs', (l) => l.role + '-' + l.index, (l) => l.stage === 'render'),
    workerBusy: sumBy(samples, 'image_cloud_worker_busy_seconds_total', (l) => l.role + '-' + l.index, (l) => l.stage === 'render'),
    reroutes: sumBy(samples, 'image_cloud_reroutes_total', (l) => l.reason),
    redisUp: total(sumBy(samples, 'image_cloud_redis_up', () => 'up')),
  };
}

function render(now, before) {
  const seconds = before ? (now.at - before.at) / 1000 : 0;
  const requests = delta(now.requests, before && before.requests, 'all');
  show('rps', before ? fixed(requests / seconds, 1) : '…');
  show('requests-total', String(total(now.requests)));
  show('redis', now.redisUp > 0 ? 'up' : 'DOWN');
  document.getElementById('redis').className = now.redisUp > 0 ? 'ok' : 'bad';

  const served = ['hit', 'miss', 'coalesced'].map((k) => delta(now.cache, before && before.cache, k));
  show('hit-ratio', percent(served[0], served[0] + served[1] + served[2]));
  const all = ['hit', 'miss', 'coalesced'].map((k) => now.cache.get(k) || 0);
  show('hit-ratio-total', percent(all[0], all[0] + all[1] + all[2]));

  // Every code is exported from 0; the page lists those that happened.
  const codes = [...now.errors.keys()].filter((code) => now.errors.get(code) > 0).sort();
  fillTable('errors', codes.map((code) => [code, before ? fixed(delta(now.errors, before.errors, code) / seconds, 2) : '…', now.errors.get(code), percent(now.errors.get(code), total(now.requests))]));

  const queues = ['render-normal', 'render-big', 'fetch', 'prefetch'];
  const jobs = (queue, state) => now.queues.get(queue + '|' + state) || 0;
  fillTable('lanes', queues.map((q) => [q, jobs(q, 'waiting'), jobs(q, 'prioritized'), jobs(q, 'active'), jobs(q, 'delayed')]));

  const workers = [...now.workerSlots.keys()].sort();
  fillTable('workers', [
    ...['normal', 'big'].map((size) => ['live render slots, ' + size + ' lane', now.slotsAlive.get(size) || 0, '', '']),
    ...workers.map((w) => {
      const busy = before ? delta(now.workerBusy, before.workerBusy, w) / seconds / (now.workerSlots.get(w) || 1) : NaN;
      return [w, now.workerSlots.get(w), now.workerActive.get(w) || 0, before ? percent(Math.min(1, busy), 1) : '…'];
    }),
  ]);

  if (before) {
    for (const reason of now.reroutes.keys()) {
      const more = delta(now.reroutes, before.reroutes, reason);
      if (more > 0) reroutes.unshift([new Date(now.at).toLocaleTimeString(), reason, more]);
    }
    reroutes.splice(20);
  }
  fillTable('reroutes', reroutes);
  show('updated', new Date(now.at).toLocaleTimeString());
}

async function poll() {
  try {
    const response = await fetch('/metrics', { cache: 'no-store' });
    const now = reading(parse(await response.text()), Date.now());
    render(now, previous);
    previous = now;
    document.body.classList.remove('stale');
  } catch {
    document.body.classList.add('stale');
  }
  setTimeout(poll, POLL_MS);
}

poll();
`;
