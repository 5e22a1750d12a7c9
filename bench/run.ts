// `npm run bench`: fuze-workers vs BullMQ vs raw Redis Streams on a private redis-server (without persistence,
// then with AOF everysec). Every workload in bench/workloads/ runs for each system, interleaved, and the results
// go to bench/results/<date>.json with a Markdown table beside it.
import { mkdir, readdir, readFile, writeFile } from 'node:fs/promises';
import { cpus, loadavg, totalmem } from 'node:os';
import { parseArgs } from 'node:util';
import { fileURLToPath } from 'node:url';
import { Redis } from 'ioredis';
import { startRedisServer, type RedisServerHandle } from '../test/support/redis-server.js';
import { RunMeter, WindowProfiler } from './meter.js';
import { assertPayloadSize, PAYLOAD_BYTES } from './payload.js';
import {
  goals,
  markdown,
  MODE_TITLES,
  ratios,
  summarize,
  type BenchResults,
  type ModeResult,
  type PersistenceMode,
  type RunRecord,
  type SystemSummary,
  type TuningRecord,
  type WorkloadResult,
} from './report.js';
import { sleep } from './util.js';
import { DEFAULT_CONCURRENCY, SYSTEMS, type RunContext, type SystemName, type Workload } from './workload.js';

const USAGE = `usage: npm run bench -- [--quick] [--only <workload>[,<workload>...]] [--events N] [--reps N]
                        [--modes none,aof] [--systems fuze,bullmq,raw] [--note "text"] [--no-tune] [--profile] [--verbose]
  --quick    smaller counts, one repetition, no persistence mode only, default concurrency (a smoke run)
  --only     workloads by name (see bench/workloads/)
  --events   base event count (default 200000; 10000 with --quick); each workload scales it
  --reps     repetitions per system (default 3; 1 with --quick)
  --modes    Redis persistence modes to run: none (no AOF, no RDB) and/or aof (AOF everysec)
  --systems  systems to run (default all three; e.g. fuze alone for profiling with --cpu-prof)
  --note     free text stored with the results (e.g. "taken while other tests ran")
  --no-tune  skip the concurrency sweep and use the defaults
  --verbose  print Redis commands per event after each run
  --profile  write a V8 CPU profile of each run's measured window to bench/results/profiles/`;

const RUN_DEADLINE_MS = 180_000;

const { values } = parseArgs({
  options: {
    quick: { type: 'boolean', default: false },
    only: { type: 'string' },
    events: { type: 'string' },
    reps: { type: 'string' },
    modes: { type: 'string' },
    systems: { type: 'string' },
    note: { type: 'string', default: '' },
    'no-tune': { type: 'boolean', default: false },
    profile: { type: 'boolean', default: false },
    verbose: { type: 'boolean', default: false },
    help: { type: 'boolean', default: false },
  },
});
if (values.help) {
  console.log(USAGE);
  process.exit(0);
}

const quick = values.quick;
const base = positiveInt('--events', values.events, quick ? 10_000 : 200_000);
const reps = positiveInt('--reps', values.reps, quick ? 1 : 3);
const tune = !quick && !values['no-tune'];
const modes = (values.modes ?? (quick ? 'none' : 'none,aof')).split(',').map((m) => m.trim());
for (const mode of modes) {
  if (mode !== 'none' && mode !== 'aof') fail(`--modes takes none and/or aof, got "${mode}"`);
}

const systems = (values.systems ?? SYSTEMS.join(',')).split(',').map((s) => s.trim()) as SystemName[];
for (const system of systems) {
  if (!SYSTEMS.includes(system)) fail(`--systems takes ${SYSTEMS.join(', ')}, got "${system}"`);
}

assertPayloadSize();
const profileDir = new URL('./results/profiles/', import.meta.url);
if (values.profile) await mkdir(profileDir, { recursive: true });
const workloads = await loadWorkloads(values.only);
const startedAt = new Date();
const machine: Record<string, unknown> = {
  cpuModel: cpus()[0]?.model.trim() ?? 'unknown',
  cpus: cpus().length,
  memoryGiB: Math.round(totalmem() / 2 ** 30),
  node: process.version,
  platform: `${process.platform} ${process.arch}`,
  bullmqVersion: await packageVersion('bullmq'),
  ioredisVersion: await packageVersion('ioredis'),
  payloadBytes: PAYLOAD_BYTES,
  loadAvgAtStart: loadavg()
    .map((n) => n.toFixed(2))
    .join(' '),
};

const modeResults: ModeResult[] = [];
for (const mode of modes as PersistenceMode[]) modeResults.push(await runMode(mode));

const results: BenchResults = {
  startedAt: startedAt.toISOString(),
  finishedAt: new Date().toISOString(),
  quick,
  note: values.note,
  options: { base, reps, tune, modes, systems, only: values.only ?? null, payloadBytes: PAYLOAD_BYTES },
  machine: {
    ...machine,
    loadAvgAtEnd: loadavg()
      .map((n) => n.toFixed(2))
      .join(' '),
  },
  modes: modeResults,
};
const stamp = startedAt.toISOString().slice(0, 19).replace(/:/g, '-');
const dir = new URL('./results/', import.meta.url);
await mkdir(dir, { recursive: true });
const name = `${stamp}${quick ? '-quick' : ''}`;
const table = markdown(results);
await writeFile(new URL(`${name}.json`, dir), `${JSON.stringify(results, null, 2)}\n`);
await writeFile(new URL(`${name}.md`, dir), table);
console.log(`\n${table}`);
console.log(`written: bench/results/${name}.json and .md`);
process.exit(0);

async function runMode(mode: PersistenceMode): Promise<ModeResult> {
  const server = await startRedisServer(
    mode === 'aof' ? { appendonly: true, appendfsync: 'everysec' } : { appendonly: false, save: '' },
  );
  const control = new Redis(server.url);
  try {
    const info = await control.info('server');
    const redisVersion = /redis_version:(\S+)/.exec(info)?.[1] ?? 'unknown';
    machine['redisVersion'] = redisVersion;
    console.log(`\n== ${MODE_TITLES[mode]}: redis ${redisVersion} on ${server.url}`);
    const best: Record<SystemName, number> = { ...DEFAULT_CONCURRENCY };
    const out: WorkloadResult[] = [];
    for (const workload of workloads) out.push(await runWorkload(server, control, mode, workload, best));
    return { mode, title: MODE_TITLES[mode], redisVersion, workloads: out, goals: goals(out) };
  } finally {
    control.disconnect();
    await server.shutdown();
  }
}

async function runWorkload(
  server: RedisServerHandle,
  control: Redis,
  mode: PersistenceMode,
  workload: Workload,
  best: Record<SystemName, number>,
): Promise<WorkloadResult> {
  const events = workload.events(base, quick);
  const policy = workload.concurrency;
  const tuning: TuningRecord[] = [];
  const concurrency: Record<SystemName, number> = { ...best };
  if (policy.kind === 'fixed') Object.assign(concurrency, policy.values);
  if (policy.kind === 'tune' && tune) {
    const tuneEvents = Math.max(1000, Math.round(events / 5));
    for (const system of systems) {
      for (const c of policy.candidates[system]) {
        const run = await runOnce(server, control, mode, workload, system, 0, tuneEvents, c, 'tune');
        tuning.push({
          system,
          concurrency: c,
          events: tuneEvents,
          eventsPerSecond: run.eventsPerSecond,
          ...(run.error === undefined ? {} : { error: run.error }),
        });
      }
      const fastest = tuning
        .filter((t) => t.system === system && t.error === undefined)
        .sort((a, b) => b.eventsPerSecond - a.eventsPerSecond)[0];
      if (fastest) concurrency[system] = best[system] = fastest.concurrency;
    }
  }
  const runs: RunRecord[] = [];
  for (let rep = 1; rep <= reps; rep++) {
    // interleaved, and the order rotates so no system always runs first (or right after another's run)
    const order = systems.map((_, i) => systems[(i + rep - 1) % systems.length]!);
    for (const system of order) {
      runs.push(await runOnce(server, control, mode, workload, system, rep, events, concurrency[system]));
    }
  }
  const summary: Partial<Record<SystemName, SystemSummary>> = {};
  for (const system of systems) {
    summary[system] = summarize(
      runs.filter((r) => r.system === system),
      concurrency[system],
    );
  }
  return {
    name: workload.name,
    title: workload.title,
    kind: workload.kind,
    events,
    tuning,
    runs,
    summary,
    ratios: ratios(workload.kind, summary),
  };
}

async function runOnce(
  server: RedisServerHandle,
  control: Redis,
  mode: PersistenceMode,
  workload: Workload,
  system: SystemName,
  rep: number,
  events: number,
  concurrency: number,
  label = `#${rep}`,
): Promise<RunRecord> {
  await freshRedis(control, mode);
  const profiler = values.profile
    ? new WindowProfiler(
        fileURLToPath(
          new URL(`${mode}-${workload.name}-${system}-${label.replace('#', '')}.cpuprofile`, profileDir),
        ),
      )
    : undefined;
  const meter = new RunMeter(control, profiler);
  const ctx: RunContext = {
    redisUrl: server.url,
    events,
    concurrency,
    quick,
    meter,
    deadlineMs: RUN_DEADLINE_MS,
  };
  const loadBefore = loadavg()[0]!;
  let record: RunRecord;
  try {
    const result = await workload.systems[system](ctx);
    const m = meter.measurement();
    if (!m) throw new Error('the runner did not call meter.begin()/end()');
    record = {
      system,
      rep,
      concurrency,
      events: result.events,
      seconds: result.seconds,
      eventsPerSecond: result.events / result.seconds,
      redisCpuSeconds: m.redisCpuSeconds,
      clientCpuSeconds: m.clientCpuSeconds,
      redisCpuUsPerEvent: (m.redisCpuSeconds * 1e6) / result.events,
      clientCpuUsPerEvent: (m.clientCpuSeconds * 1e6) / result.events,
      ...(result.longestPauseMs === undefined ? {} : { longestPauseMs: round(result.longestPauseMs, 1) }),
      ...(result.latency ? { latency: result.latency } : {}),
      commandsPerEvent: m.commands.map((c) => ({
        command: c.command,
        calls: round(c.calls / result.events, 4),
        usec: round(c.usec / result.events, 3),
      })),
      loadAvg: [loadBefore, loadavg()[0]!],
    };
  } catch (error) {
    record = {
      system,
      rep,
      concurrency,
      events: 0,
      seconds: 0,
      eventsPerSecond: NaN,
      redisCpuSeconds: NaN,
      clientCpuSeconds: NaN,
      redisCpuUsPerEvent: NaN,
      clientCpuUsPerEvent: NaN,
      commandsPerEvent: [],
      loadAvg: [loadBefore, loadavg()[0]!],
      error: error instanceof Error ? error.message : String(error),
    };
  }
  console.log(progressLine(mode, workload.name, system, label, record));
  return record;
}

function progressLine(mode: string, workload: string, system: string, label: string, r: RunRecord): string {
  const head = `${mode.padEnd(4)} ${workload.padEnd(10)} ${system.padEnd(6)} ${label.padEnd(4)} c=${String(r.concurrency).padEnd(4)}`;
  if (r.error !== undefined) return `${head} FAILED: ${r.error}`;
  const l = r.latency;
  const lat = l
    ? ` p50 ${l.p50Ms.toFixed(2)} p99 ${l.p99Ms.toFixed(2)} max ${l.maxMs.toFixed(1)} ms, ${Math.round(l.achievedRate)}/s (published ${Math.round(l.publishedRate)}/s)${l.sustained ? '' : ' NOT SUSTAINED'}`
    : '';
  return (
    `${head} ${Math.round(r.eventsPerSecond).toString().padStart(7)} ev/s  ${r.events} in ${r.seconds.toFixed(2)} s  ` +
    `redis ${r.redisCpuUsPerEvent.toFixed(1)} µs/ev  client ${r.clientCpuUsPerEvent.toFixed(1)} µs/ev` +
    `${r.longestPauseMs === undefined ? '' : `  pause ≤ ${Math.round(r.longestPauseMs)} ms`}${lat}` +
    (values.verbose
      ? `\n      cmds/ev: ${r.commandsPerEvent
          .slice(0, 8)
          .map((c) => `${c.command} ${c.calls}`)
          .join(', ')}`
      : '')
  );
}

/** FLUSHALL; with AOF also a rewrite, so one system's log does not weigh on the next system's run. */
async function freshRedis(control: Redis, mode: PersistenceMode): Promise<void> {
  await control.flushall();
  if (mode === 'aof') {
    await waitForNoRewrite(control);
    await control.bgrewriteaof();
    await waitForNoRewrite(control);
  }
  // let the previous run's closed connections and timers wind down
  await sleep(100);
}

async function waitForNoRewrite(control: Redis): Promise<void> {
  for (let i = 0; i < 600; i++) {
    const info = await control.info('persistence');
    if (info.includes('aof_rewrite_in_progress:0') && info.includes('aof_rewrite_scheduled:0')) return;
    await sleep(50);
  }
  throw new Error('AOF rewrite did not finish within 30 s');
}

async function loadWorkloads(only: string | undefined): Promise<Workload[]> {
  const dir = new URL('./workloads/', import.meta.url);
  const files = (await readdir(dir)).filter((f) => f.endsWith('.ts')).sort();
  const all: Workload[] = [];
  for (const file of files) {
    const module = (await import(new URL(file, dir).href)) as { workload?: Workload };
    if (module.workload) all.push(module.workload);
  }
  all.sort((a, b) => a.order - b.order);
  if (only === undefined) return all;
  const wanted = only.split(',').map((w) => w.trim());
  const unknown = wanted.filter((w) => !all.some((x) => x.name === w));
  if (unknown.length > 0)
    fail(`unknown workload ${unknown.join(', ')}; known: ${all.map((w) => w.name).join(', ')}`);
  return all.filter((w) => wanted.includes(w.name));
}

async function packageVersion(name: string): Promise<string> {
  try {
    const text = await readFile(new URL(`./node_modules/${name}/package.json`, import.meta.url), 'utf8');
    return (JSON.parse(text) as { version: string }).version;
  } catch {
    return 'not installed (run npm --prefix bench install)';
  }
}

function round(n: number, digits: number): number {
  return Number(n.toFixed(digits));
}

function positiveInt(flag: string, text: string | undefined, fallback: number): number {
  if (text === undefined) return fallback;
  const n = Number(text);
  if (!Number.isInteger(n) || n < 1) fail(`${flag} takes a positive integer, got "${text}"`);
  return n;
}

function fail(message: string): never {
  console.error(`${message}\n${USAGE}`);
  process.exit(2);
}
