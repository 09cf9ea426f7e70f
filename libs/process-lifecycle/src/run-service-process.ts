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
  start().then(
    (running) => {
      let stopping = false;
      const shutdown = (signal: string) => {
        if (stopping) return;
        stopping = true;
        process.stderr.write(`${name}: ${signal} received, stopping\n`);
        setTimeout(() => process.exit(1), options.forceExitMs).unref();
        running.stop().then(
          () => process.exit(0),
          () => process.exit(1),
        );
      };
      process.on('SIGTERM', () => shutdown('SIGTERM'));
      process.on('SIGINT', () => shutdown('SIGINT'));
      // Started by the launcher with an IPC channel: when the launcher goes away, so do we.
      if (process.send) process.on('disconnect', () => shutdown('launcher exited'));
    },
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
