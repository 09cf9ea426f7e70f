import { randomUUID } from 'node:crypto';
import type { Registry } from 'prom-client';
import type { ProcessMetrics } from './merge-metrics';

/**
 * Under `npm start` every process is a child of the launcher with an IPC channel. The server's
 * /metrics asks the launcher for everybody else's metrics; the launcher asks each child and adds
 * its own (like prom-client's AggregatorRegistry does for cluster workers). So one scrape address
 * carries every process, and workers need no port of their own.
 */
const ASK_CLUSTER = 'image-cloud:metrics:ask-cluster';
const CLUSTER_ANSWER = 'image-cloud:metrics:cluster-answer';
const ASK_PROCESS = 'image-cloud:metrics:ask-process';
const PROCESS_ANSWER = 'image-cloud:metrics:process-answer';

interface MetricsMessage {
  type: string;
  id: string;
  metrics?: ProcessMetrics[] | ProcessMetrics;
}

function isMessage(message: unknown, type: string): message is MetricsMessage {
  return typeof message === 'object' && message !== null && (message as MetricsMessage).type === type && typeof (message as MetricsMessage).id === 'string';
}

/** The side of an IPC channel we use: a child process seen from the launcher, or `process` seen from a child. */
export interface IpcChannel {
  send?(message: unknown): boolean;
  on(event: 'message', listener: (message: unknown) => void): unknown;
  readonly connected?: boolean;
}

/** Answers awaited on each channel by request id: one listener per channel, however many scrapes overlap. */
const pendingByChannel = new WeakMap<IpcChannel, Map<string, (message: MetricsMessage) => void>>();

function pendingOn(channel: IpcChannel): Map<string, (message: MetricsMessage) => void> {
  let pending = pendingByChannel.get(channel);
  if (!pending) {
    const waiting = new Map<string, (message: MetricsMessage) => void>();
    channel.on('message', (message) => {
      if (isMessage(message, CLUSTER_ANSWER) || isMessage(message, PROCESS_ANSWER)) waiting.get(message.id)?.(message);
    });
    pendingByChannel.set(channel, waiting);
    pending = waiting;
  }
  return pending;
}

/** Sends `request` and resolves with the matching answer, or null after `timeoutMs` (a busy or dying process is skipped, not waited for). */
function ask<T>(channel: IpcChannel, request: MetricsMessage, timeoutMs: number): Promise<T | null> {
  if (!channel.send || channel.connected === false) return Promise.resolve(null);
  const pending = pendingOn(channel);
  return new Promise((resolve) => {
    const done = (value: T | null) => {
      clearTimeout(timer);
      pending.delete(request.id);
      resolve(value);
    };
    const timer = setTimeout(() => done(null), timeoutMs);
    pending.set(request.id, (message) => done((message.metrics ?? null) as T | null));
    try {
      channel.send!(request);
    } catch {
      done(null);
    }
  });
}

/** Child side: answers the launcher's requests for this process's metrics. */
export function answerMetricsRequests(registry: Registry, channel: IpcChannel = process): void {
  channel.on('message', (message) => {
    if (!isMessage(message, ASK_PROCESS)) return;
    void registry.getMetricsAsJSON().then(
      (metrics) => channel.send?.({ type: PROCESS_ANSWER, id: message.id, metrics }),
      () => channel.send?.({ type: PROCESS_ANSWER, id: message.id, metrics: [] }),
    );
  });
}

/** Server side: every other process's metrics from the launcher; empty when not started by one. */
export async function askLauncherForMetrics(timeoutMs: number, channel: IpcChannel = process): Promise<ProcessMetrics[]> {
  const answer = await ask<ProcessMetrics[]>(channel, { type: ASK_CLUSTER, id: randomUUID() }, timeoutMs);
  return answer ?? [];
}

/**
 * Launcher side: answers a child's request for the cluster's metrics with its own registry's and
 * every other child's (each asked in parallel, each skipped when it does not answer in time).
 */
export function serveClusterMetrics(options: { registry: Registry; children: () => IpcChannel[]; timeoutMs: number }): (from: IpcChannel, message: unknown) => void {
  return (from, message) => {
    if (!isMessage(message, ASK_CLUSTER)) return;
    const others = options.children().filter((child) => child !== from);
    void Promise.all([
      options.registry.getMetricsAsJSON() as Promise<ProcessMetrics>,
      ...others.map((child) => ask<ProcessMetrics>(child, { type: ASK_PROCESS, id: randomUUID() }, options.timeoutMs)),
    ]).then((all) => {
      if (from.connected !== false) from.send?.({ type: CLUSTER_ANSWER, id: message.id, metrics: all.filter((metrics): metrics is ProcessMetrics => metrics !== null) });
    });
  };
}
