import { ConfigError } from '@image-cloud/config';

/** Exit code for "the configuration is wrong": a supervisor must not restart the process. */
export const EXIT_CONFIG_ERROR = 2;

export interface ServiceProcess {
  /** Stops taking work, finishes what is running, releases connections. */
  stop(): Promise<void>;
}

/**
 * Runs a long-lived process: starts it, stops it once on SIGTERM or SIGINT (forcing exit after
 * `forceExitMs`), and exits 2 on a configuration error (with the message naming the bad keys) or
 * 1 on any other start-up failure.
 */
export function runServiceProcess(name: string, start: () => Promise<ServiceProcess>, options: { forceExitMs: number }): void {
  const started = start();
  let stopping = false;
  // Listening from the first moment: a signal or the launcher's death during start-up (waiting for
  // Redis, forking render children) must stop the process too, once it has started.
  const shutdown = (reason: string) => {
    if (stopping) return;
    stopping = true;
    process.stderr.write(`${name}: ${reason}, stopping\n`);
    setTimeout(() => process.exit(1), options.forceExitMs).unref();
    started
      .then((running) => running.stop())
      .then(
        () => process.exit(0),
        () => process.exit(1),
      );
  };
  process.on('SIGTERM', () => shutdown('SIGTERM received'));
  process.on('SIGINT', () => shutdown('SIGINT received'));
  // Started by the launcher with an IPC channel: when the launcher goes away, so do we.
  if (process.send) process.on('disconnect', () => shutdown('launcher exited'));
  started.catch(
    (error: unknown) => {
      if (error instanceof ConfigError) {
        process.stderr.write(`${name}: invalid configuration:\n${error.message}\n`);
        process.exit(EXIT_CONFIG_ERROR);
      }
      process.stderr.write(`${name}: failed to start: ${error instanceof Error ? error.message : String(error)}\n`);
      process.exit(1);
    },
  );
}
