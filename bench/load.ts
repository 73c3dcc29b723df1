import os from 'node:os';
import { performance } from 'node:perf_hooks';
import type { Client } from '@temporalio/client';
import { tsToMs } from '@temporalio/common/lib/time';
import { temporal } from '@temporalio/proto';
import { summarize, type LatencySummary } from './stats';

/** One way of running the benchmark graph: Trellis or the hand-written baseline. */
export type Variant = {
  name: string;
  /** Starts run number `index`; resolves with its workflow id once the start is acknowledged. */
  start(index: number): Promise<string>;
  /** Throws when run `index` returned something else than the graph's result. */
  check(result: unknown, index: number): void;
};

export type LoadOptions = {
  runs: number;
  /** Runs in flight at once. */
  concurrency: number;
  /** Index of the first run; warm-up and measured runs use distinct indexes, hence order ids. */
  firstIndex: number;
};

/** What {@link runLoad} measured for one variant. */
export type LoadResult = {
  variant: string;
  runs: number;
  wallMs: number;
  runsPerSecond: number;
  /** From the start call to the workflow's result, per run. */
  latency: LatencySummary;
  /** From the start call until it returned (GraphQL `startRun` or `client.workflow.start`). */
  startLatency: LatencySummary;
  /** CPU time of this process (API, worker, stub and client together) per run, in ms. */
  cpuMsPerRun: number;
  /** Share of all cores' time the machine was busy (every process, servers included), 0–1. */
  machineBusy: number;
  workflowIds: string[];
};

/**
 * Runs `variant` `runs` times, at most `concurrency` at once, awaiting each run's result through
 * the Temporal client, and times every run and the whole batch.
 * @throws whatever a start, a result or `variant.check` throws
 */
export async function runLoad(client: Client, variant: Variant, options: LoadOptions): Promise<LoadResult> {
  const latencies: number[] = [];
  const startLatencies: number[] = [];
  const workflowIds: string[] = [];
  let next = options.firstIndex;
  const end = options.firstIndex + options.runs;
  const lane = async (): Promise<void> => {
    while (next < end) {
      const index = next++;
      const startedAt = performance.now();
      const workflowId = await variant.start(index);
      const acknowledgedAt = performance.now();
      const result: unknown = await client.workflow.getHandle(workflowId).result();
      const finishedAt = performance.now();
      variant.check(result, index);
      latencies.push(finishedAt - startedAt);
      startLatencies.push(acknowledgedAt - startedAt);
      workflowIds.push(workflowId);
    }
  };
  const cpuBefore = process.cpuUsage();
  const machineBefore = machineTimes();
  const began = performance.now();
  await Promise.all(Array.from({ length: Math.min(options.concurrency, options.runs) }, lane));
  const wallMs = performance.now() - began;
  const cpu = process.cpuUsage(cpuBefore);
  const machineAfter = machineTimes();
  return {
    variant: variant.name,
    runs: options.runs,
    wallMs,
    runsPerSecond: options.runs / (wallMs / 1000),
    latency: summarize(latencies),
    startLatency: summarize(startLatencies),
    cpuMsPerRun: (cpu.user + cpu.system) / 1000 / options.runs,
    machineBusy: (machineAfter.busy - machineBefore.busy) / (machineAfter.total - machineBefore.total),
    workflowIds,
  };
}

function machineTimes(): { busy: number; total: number } {
  let busy = 0;
  let total = 0;
  for (const { times } of os.cpus()) {
    const all = times.user + times.nice + times.sys + times.idle + times.irq;
    total += all;
    busy += all - times.idle;
  }
  return { busy, total };
}

/** Averages over the histories of some runs of one variant. */
export type HistoryStats = {
  runs: number;
  /** Events per run. */
  events: number;
  /** Events per run by type, e.g. `MARKER_RECORDED` (one per local activity, so per audit event). */
  byType: Record<string, number>;
  /** Server side, first to last history event (start to completion), per run. */
  durationMs: LatencySummary;
};

/** Fetches the histories of `workflowIds` and averages their length and composition. */
export async function historyStats(client: Client, workflowIds: readonly string[]): Promise<HistoryStats> {
  const byType: Record<string, number> = {};
  const durations: number[] = [];
  let events = 0;
  for (const workflowId of workflowIds) {
    const history = await client.workflow.getHandle(workflowId).fetchHistory();
    const list = history.events ?? [];
    events += list.length;
    for (const event of list) {
      const type = eventTypeName(event.eventType);
      byType[type] = (byType[type] ?? 0) + 1;
    }
    durations.push(tsToMs(list.at(-1)?.eventTime) - tsToMs(list[0]?.eventTime));
  }
  const runs = workflowIds.length;
  for (const type of Object.keys(byType)) byType[type] = byType[type]! / runs;
  return { runs, events: events / runs, byType, durationMs: summarize(durations) };
}

function eventTypeName(type: temporal.api.enums.v1.EventType | null | undefined): string {
  const name = type == null ? undefined : temporal.api.enums.v1.EventType[type];
  return (name ?? `UNKNOWN_${String(type)}`).replace(/^EVENT_TYPE_/, '');
}
