/** Resolves once `url` answers 2xx (a process the test started is up), or rejects after `timeoutMs`. */
export async function waitForHttp(url: string, timeoutMs = 20_000): Promise<void> {
  const until = Date.now() + timeoutMs;
  // Each attempt has its own deadline: a process that accepts but never answers must not outlast timeoutMs.
  const answers = () =>
    fetch(url, { signal: AbortSignal.timeout(Math.max(100, until - Date.now())) }).then(
      (response) => response.ok,
      () => false,
    );
  while (!(await answers())) {
    if (Date.now() > until) throw new Error(`${url} did not answer within ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}
