// The results file and its Markdown table: per-run figures, medians with min-max, ratios and the goals.
import { spread, type Spread } from './stats.js';
import { SYSTEM_LABELS, SYSTEMS, type LatencySummary, type SystemName } from './workload.js';

export type PersistenceMode = 'none' | 'aof';

export const MODE_TITLES: Record<PersistenceMode, string> = {
  none: 'Redis without persistence (no AOF, no RDB)',
  aof: 'Redis with AOF, appendfsync everysec',
};

export interface RunRecord {
  readonly system: SystemName;
  readonly rep: number;
  readonly concurrency: number;
  readonly events: number;
  readonly seconds: number;
  readonly eventsPerSecond: number;
  readonly redisCpuSeconds: number;
  readonly clientCpuSeconds: number;
  readonly redisCpuUsPerEvent: number;
  readonly clientCpuUsPerEvent: number;
  /** Longest pause between two completions, ms, when the workload tracks it. */
  readonly longestPauseMs?: number;
  readonly latency?: LatencySummary;
  /** Redis commands per event during the window (calls and Redis µs), most called first. */
  readonly commandsPerEvent: readonly { command: string; calls: number; usec: number }[];
  /** 1-minute load average before and after the run: figures taken under outside load show it here. */
  readonly loadAvg: readonly [number, number];
  readonly error?: string;
}

export interface TuningRecord {
  readonly system: SystemName;
  readonly concurrency: number;
  readonly events: number;
  readonly eventsPerSecond: number;
  readonly error?: string;
}

export interface SystemSummary {
  readonly concurrency: number;
  readonly runs: number;
  readonly failed: number;
  readonly eventsPerSecond?: Spread;
  readonly redisCpuUsPerEvent?: Spread;
  readonly clientCpuUsPerEvent?: Spread;
  readonly latency?: {
    readonly p50Ms: Spread;
    readonly p90Ms: Spread;
    readonly p99Ms: Spread;
    readonly maxMs: Spread;
    readonly achievedRate: Spread;
    readonly publishedRate: Spread;
    /** Every run sustained the target rate. */
    readonly sustained: boolean;
  };
}

export interface WorkloadResult {
  readonly name: string;
  readonly title: string;
  readonly kind: 'throughput' | 'latency';
  readonly events: number;
  readonly tuning: readonly TuningRecord[];
  readonly runs: readonly RunRecord[];
  readonly summary: Partial<Record<SystemName, SystemSummary>>;
  /**
   * Throughput: fuze median / other median (above 1 = fuze faster). Latency: other p50 or p99 / fuze's
   * (above 1 = fuze quicker), only when both sustained the rate, otherwise null.
   */
  readonly ratios: Record<string, number | null>;
}

export interface GoalResult {
  readonly goal: string;
  readonly value: number | null;
  readonly target: number;
  readonly met: boolean | null;
}

export interface ModeResult {
  readonly mode: PersistenceMode;
  readonly title: string;
  readonly redisVersion: string;
  readonly workloads: WorkloadResult[];
  readonly goals: GoalResult[];
}

export interface BenchResults {
  readonly startedAt: string;
  readonly finishedAt: string;
  readonly quick: boolean;
  readonly note: string;
  readonly options: Record<string, unknown>;
  readonly machine: Record<string, unknown>;
  readonly modes: ModeResult[];
}

export function summarize(runs: readonly RunRecord[], concurrency: number): SystemSummary {
  const ok = runs.filter((r) => r.error === undefined);
  const pick = (f: (r: RunRecord) => number): Spread | undefined => spread(ok.map(f));
  const latencies = ok.map((r) => r.latency).filter((l): l is LatencySummary => l !== undefined);
  const base = {
    concurrency,
    runs: runs.length,
    failed: runs.length - ok.length,
    eventsPerSecond: pick((r) => r.eventsPerSecond),
    redisCpuUsPerEvent: pick((r) => r.redisCpuUsPerEvent),
    clientCpuUsPerEvent: pick((r) => r.clientCpuUsPerEvent),
  };
  if (latencies.length === 0) return base;
  const of = (f: (l: LatencySummary) => number): Spread => spread(latencies.map(f))!;
  return {
    ...base,
    latency: {
      p50Ms: of((l) => l.p50Ms),
      p90Ms: of((l) => l.p90Ms),
      p99Ms: of((l) => l.p99Ms),
      maxMs: of((l) => l.maxMs),
      achievedRate: of((l) => l.achievedRate),
      publishedRate: of((l) => l.publishedRate),
      sustained: ok.length === runs.length && latencies.every((l) => l.sustained),
    },
  };
}

export function ratios(
  kind: 'throughput' | 'latency',
  summary: Partial<Record<SystemName, SystemSummary>>,
): Record<string, number | null> {
  const fuze = summary.fuze;
  const out: Record<string, number | null> = {};
  for (const other of ['bullmq', 'raw'] as const) {
    const s = summary[other];
    if (kind === 'throughput') {
      const a = fuze?.eventsPerSecond?.median;
      const b = s?.eventsPerSecond?.median;
      out[`fuze/${other}`] = a !== undefined && b !== undefined && b > 0 ? a / b : null;
    } else {
      const both = fuze?.latency?.sustained === true && s?.latency?.sustained === true;
      for (const p of ['p50Ms', 'p99Ms'] as const) {
        const a = fuze?.latency?.[p].median;
        const b = s?.latency?.[p].median;
        out[`${other}/fuze ${p.slice(0, 3)}`] =
          both && a !== undefined && b !== undefined && a > 0 ? b / a : null;
      }
    }
  }
  return out;
}

/** The goals: consume >= 10x BullMQ and >= 60 % of raw; full pipeline >= 8x BullMQ's no-op worker. */
export function goals(workloads: readonly WorkloadResult[]): GoalResult[] {
  const median = (workload: string, system: SystemName): number | undefined =>
    workloads.find((w) => w.name === workload)?.summary[system]?.eventsPerSecond?.median;
  const goal = (text: string, a: number | undefined, b: number | undefined, target: number): GoalResult => {
    const value = a !== undefined && b !== undefined && b > 0 ? a / b : null;
    return { goal: text, value, target, met: value === null ? null : value >= target };
  };
  return [
    goal('consume no-op >= 10x BullMQ', median('consume', 'fuze'), median('consume', 'bullmq'), 10),
    goal('consume no-op >= 60 % of raw streams', median('consume', 'fuze'), median('consume', 'raw'), 0.6),
    goal(
      "full pipeline >= 8x BullMQ's no-op worker",
      median('pipeline', 'fuze'),
      median('consume', 'bullmq'),
      8,
    ),
  ];
}

const int = (n: number): string => Math.round(n).toLocaleString('en-US');
const fixed = (n: number, digits: number): string =>
  n.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits });
const ms = (n: number): string => (n < 10 ? fixed(n, 2) : n < 100 ? fixed(n, 1) : int(n));

function spreadText(s: Spread | undefined, format: (n: number) => string, showRange: boolean): string {
  if (!s) return 'failed';
  return showRange && s.min !== s.max
    ? `${format(s.median)} (${format(s.min)}–${format(s.max)})`
    : format(s.median);
}

function ratioText(value: number | null | undefined): string {
  if (value === null || value === undefined) return '–';
  return `${value >= 10 ? fixed(value, 1) : fixed(value, 2)}×`;
}

function perSystem(
  summary: Partial<Record<SystemName, SystemSummary>>,
  f: (s: SystemSummary) => string,
): string {
  return SYSTEMS.map((name) => {
    const s = summary[name];
    return s ? f(s) : '–';
  }).join(' / ');
}

export function markdown(results: BenchResults): string {
  const lines: string[] = [];
  const m = results.machine;
  lines.push(`# Benchmark ${results.startedAt}${results.quick ? ' (quick smoke run)' : ''}`, '');
  lines.push(
    `Machine: ${String(m['cpuModel'])} × ${String(m['cpus'])}, ${String(m['memoryGiB'])} GiB, Node ${String(m['node'])}, ` +
      `Redis ${String(m['redisVersion'])}, BullMQ ${String(m['bullmqVersion'])}, ioredis ${String(m['ioredisVersion'])}. ` +
      `Load average at start ${String(m['loadAvgAtStart'])}.`,
  );
  if (results.note !== '') lines.push('', `**Note:** ${results.note}`);
  lines.push(
    '',
    'Figures: median of the runs with min–max in brackets; events/s for throughput; ratios are fuze ÷ other ' +
      '(above 1 = fuze faster). CPU columns: µs of CPU per event, fuze / BullMQ / raw; client CPU is the whole ' +
      'benchmark process (for latency that includes the producer).',
  );
  for (const mode of results.modes) {
    lines.push('', `## ${mode.title}`, '');
    lines.push(
      '| workload | events | fuze-workers | BullMQ | raw streams | fuze/BullMQ | fuze/raw | concurrency | Redis CPU µs/event | client CPU µs/event |',
      '| --- | --: | --: | --: | --: | --: | --: | --- | --- | --- |',
    );
    for (const w of mode.workloads.filter((x) => x.kind === 'throughput')) {
      const cell = (name: SystemName): string =>
        spreadText(w.summary[name]?.eventsPerSecond, int, results.options['reps'] !== 1);
      lines.push(
        `| ${w.title} | ${int(w.events)} | ${cell('fuze')} | ${cell('bullmq')} | ${cell('raw')} | ` +
          `${ratioText(w.ratios['fuze/bullmq'])} | ${ratioText(w.ratios['fuze/raw'])} | ` +
          `${perSystem(w.summary, (s) => String(s.concurrency))} | ` +
          `${perSystem(w.summary, (s) => (s.redisCpuUsPerEvent ? fixed(s.redisCpuUsPerEvent.median, 1) : '–'))} | ` +
          `${perSystem(w.summary, (s) => (s.clientCpuUsPerEvent ? fixed(s.clientCpuUsPerEvent.median, 1) : '–'))} |`,
      );
    }
    for (const w of mode.workloads.filter((x) => x.kind === 'latency')) {
      lines.push(
        '',
        `### ${w.title} (${int(w.events)} events; ms from intended publish to handler done)`,
        '',
      );
      lines.push(
        '| system | concurrency | p50 | p90 | p99 | max | achieved rate /s | published /s | sustained | Redis CPU µs/event | client CPU µs/event |',
        '| --- | --: | --: | --: | --: | --: | --: | --: | --- | --: | --: |',
      );
      for (const name of SYSTEMS) {
        const s = w.summary[name];
        if (!s) continue;
        const l = s.latency;
        const range = results.options['reps'] !== 1;
        lines.push(
          l
            ? `| ${SYSTEM_LABELS[name]} | ${s.concurrency} | ${spreadText(l.p50Ms, ms, range)} | ${spreadText(l.p90Ms, ms, range)} | ` +
                `${spreadText(l.p99Ms, ms, range)} | ${spreadText(l.maxMs, ms, range)} | ${spreadText(l.achievedRate, int, range)} | ` +
                `${spreadText(l.publishedRate, int, range)} | ` +
                `${l.sustained ? 'yes' : 'no'} | ${s.redisCpuUsPerEvent ? fixed(s.redisCpuUsPerEvent.median, 1) : '–'} | ` +
                `${s.clientCpuUsPerEvent ? fixed(s.clientCpuUsPerEvent.median, 1) : '–'} |`
            : `| ${SYSTEM_LABELS[name]} | ${s.concurrency} | failed | | | | | | no | | |`,
        );
      }
      const r = w.ratios;
      lines.push(
        '',
        `Latency ratios (other ÷ fuze, counted only when both sustained the rate): BullMQ p50 ${ratioText(r['bullmq/fuze p50'])}, ` +
          `p99 ${ratioText(r['bullmq/fuze p99'])}; raw p50 ${ratioText(r['raw/fuze p50'])}, p99 ${ratioText(r['raw/fuze p99'])}.`,
      );
    }
    lines.push('', '| goal | value | met |', '| --- | --: | --- |');
    for (const g of mode.goals) {
      const value =
        g.value === null ? '–' : g.target < 1 ? `${fixed(g.value * 100, 0)} %` : ratioText(g.value);
      lines.push(`| ${g.goal} | ${value} | ${g.met === null ? 'not measured' : g.met ? 'yes' : 'no'} |`);
    }
    const failures = mode.workloads.flatMap((w) =>
      w.runs
        .filter((r) => r.error !== undefined)
        .map((r) => `${w.name}/${r.system}#${r.rep}: ${r.error ?? ''}`),
    );
    if (failures.length > 0) lines.push('', 'Failed runs:', ...failures.map((f) => `- ${f}`));
    const tuned = mode.workloads.filter((w) => w.tuning.length > 0);
    for (const w of tuned) {
      lines.push(
        '',
        `Concurrency tuning for ${w.name} (one run of ${int(w.tuning[0]?.events ?? 0)} events each, events/s): ` +
          SYSTEMS.map(
            (name) =>
              `${SYSTEM_LABELS[name]} ` +
              w.tuning
                .filter((t) => t.system === name)
                .map((t) => `${t.concurrency}: ${t.error === undefined ? int(t.eventsPerSecond) : 'failed'}`)
                .join(', '),
          ).join('; ') +
          '.',
      );
    }
  }
  return `${lines.join('\n')}\n`;
}
