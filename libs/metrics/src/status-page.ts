import { createHash } from 'node:crypto';
import { STATUS_PAGE_SCRIPT } from './status-page-script';

/**
 * GET /status for the single-machine cloud (no Grafana there): one small HTML page that polls
 * /metrics every two seconds and shows requests per second, error codes, the cache hit ratio,
 * the lanes' queues, the workers and the latest reroutes. The script is inline, allowed by its
 * hash and nothing else.
 */
export const STATUS_PAGE_HTML = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Image cloud status</title>
<style>
  body { font: 14px/1.4 system-ui, sans-serif; margin: 1.5rem; color: #1d2330; background: #f6f7f9; }
  body.stale main { opacity: 0.5; }
  h1 { font-size: 1.3rem; margin: 0 0 1rem; }
  h2 { font-size: 1rem; margin: 0 0 0.5rem; }
  main { display: grid; grid-template-columns: repeat(auto-fit, minmax(22rem, 1fr)); gap: 1rem; }
  section { background: #fff; border: 1px solid #dde1e7; border-radius: 6px; padding: 0.8rem 1rem; }
  .big { font-size: 2rem; font-weight: 600; }
  table { border-collapse: collapse; width: 100%; }
  th, td { text-align: left; padding: 0.15rem 0.4rem; border-bottom: 1px solid #eef0f3; }
  th { font-weight: 600; color: #566074; }
  .number { text-align: right; font-variant-numeric: tabular-nums; }
  .quiet, footer { color: #7a8394; }
  .ok { color: #1a7f37; } .bad { color: #c62828; font-weight: 600; }
</style>
</head>
<body>
<h1>Image cloud status</h1>
<main>
  <section><h2>Requests per second</h2><div class="big" id="rps">…</div><div class="quiet"><span id="requests-total">0</span> requests since start (without /metrics and /status) · Redis <span id="redis">…</span></div></section>
  <section><h2>Cache hit ratio</h2><div class="big" id="hit-ratio">…</div><div class="quiet"><span id="hit-ratio-total">–</span> since start</div></section>
  <section><h2>Error codes</h2><table id="errors"><thead><tr><th>code</th><th class="number">per s</th><th class="number">total</th><th class="number">of requests</th></tr></thead><tbody></tbody></table></section>
  <section><h2>Lanes (jobs per queue)</h2><table id="lanes"><thead><tr><th>queue</th><th class="number">waiting (sync)</th><th class="number">prioritized (async)</th><th class="number">running</th><th class="number">delayed</th></tr></thead><tbody></tbody></table></section>
  <section><h2>Workers</h2><table id="workers"><thead><tr><th>worker</th><th class="number">render slots</th><th class="number">running</th><th class="number">busy</th></tr></thead><tbody></tbody></table></section>
  <section><h2>Recent reroutes to the big lane</h2><table id="reroutes"><thead><tr><th>at</th><th class="number">reason</th><th class="number">renders</th></tr></thead><tbody></tbody></table></section>
</main>
<footer>Updated <span id="updated">never</span>, every 2 s from <a href="/metrics">/metrics</a>.</footer>
<script>${STATUS_PAGE_SCRIPT}</script>
</body>
</html>
`;

/** The page's Content-Security-Policy: its own inline script (by hash), inline styles, fetches to this origin. */
export const STATUS_PAGE_CSP = `default-src 'none'; script-src 'sha256-${createHash('sha256').update(STATUS_PAGE_SCRIPT).digest('base64')}'; style-src 'unsafe-inline'; connect-src 'self'`;
