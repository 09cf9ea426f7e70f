import type { ChildProcess } from 'node:child_process';
import cluster from 'node:cluster';

/**
 * Forks `script` with Node as a cluster child whose listening ports are shared with its siblings
 * (node:cluster, this process the primary: what a child `listen()`s on is opened once, here), its
 * output on this process's, with an IPC channel like the supervisor's other children.
 *
 * Why node:cluster with round-robin rather than handing one listening socket to each child over
 * IPC: Node 20 has no `reusePort`, and with a socket shared by handle every child accept()s on its
 * own, so the kernel picks who gets each connection, and long-lived keep-alive connections pile up
 * on a few processes (Node's cluster docs saw over 70% of connections in two processes of eight).
 * Round-robin has the primary accept and deal connections out in turn, so every process gets its
 * share of the cores; a dead child is skipped until it is back. Its cost, one IPC message per new
 * connection, is paid once per keep-alive connection, not per request. And the children need no
 * code of their own for it: they listen on PORT, as a server run alone (a container, a test) does.
 */
export function forkSharingPort(script: string, env: NodeJS.ProcessEnv, nodeArgs: string[] = []): ChildProcess {
  // Round-robin is Linux's default but not Windows'; it takes effect at the first fork only.
  cluster.schedulingPolicy = cluster.SCHED_RR;
  // cluster.fork() takes its command from process-wide settings: set them for this fork only, so
  // other forks of this process (a benchmark's own servers) still run what they expect.
  const previous = { exec: process.argv[1], args: process.argv.slice(2), execArgv: process.execArgv, stdio: undefined, ...cluster.settings };
  // No execArgv inherited: the launcher's own flags (an --inspect port) must not reach its children.
  cluster.setupPrimary({ exec: script, args: [], execArgv: nodeArgs, stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  try {
    return cluster.fork(env).process;
  } finally {
    cluster.setupPrimary(previous);
  }
}
