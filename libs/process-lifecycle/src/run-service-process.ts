import { ConfigError } from '@image-cloud/config';

/** Exit code for "the configuration is wrong": a supervisor must not restart the process. */
export const EXIT_CONFIG_ERROR = 2;

/** Exit code for "the port to listen on is taken": restarting would only fail again the same way. */
export const EXIT_PORT_IN_USE = 3;

/** Exit codes after which restarting the process cannot help; a supervisor stops everything instead. */
export const FATAL_EXIT_CODES: ReadonlySet<number> = new Set([EXIT_CONFIG_ERROR, EXIT_PORT_IN_USE]);

export interface ServiceProcess {
  /** Stops taking work, finishes what is running, releases connections. */
  stop(): Promise<void>;
}

/**
 * Runs a long-lived process: starts it, stops it once on SIGTERM or SIGINT (forcing exit after
 * `forceExitMs`), and exits 2 on a configuration error (with the message naming the bad keys),
 * 3 when its port is taken, or 1 on any other start-up failure.
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
  const underLauncher = Boolean(process.send);
  process.on('SIGTERM', () => shutdown('SIGTERM received'));
  // Ctrl-C reaches every process of the terminal's group at once. Under the launcher that would stop
  // the server, the workers and Redis together, so waiting clients lose the workers they wait for:
  // the launcher alone reacts to it and stops its children in order (server first) with SIGTERM.
  process.on('SIGINT', () => (underLauncher ? undefined : shutdown('SIGINT received')));
  // Started by the launcher with an IPC channel: when the launcher goes away, so do we.
  if (underLauncher) process.on('disconnect', () => shutdown('launcher exited'));
  started.catch((error: unknown) => {
    if (error instanceof ConfigError) {
      process.stderr.write(`${name}: invalid configuration:\n${error.message}\n`);
      process.exit(EXIT_CONFIG_ERROR);
    }
    const listenError = error as NodeJS.ErrnoException & { port?: number };
    if (listenError?.code === 'EADDRINUSE') {
      const port = listenError.port ?? /:(\d+)$/.exec(listenError.message)?.[1] ?? '?';
      process.stderr.write(`${name}: port ${port} is in use; stop what listens there or choose another port (PORT).\n`);
      process.exit(EXIT_PORT_IN_USE);
    }
    process.stderr.write(`${name}: failed to start: ${error instanceof Error ? error.message : String(error)}\n`);
    process.exit(1);
  });
}
