// The measured window of one run: wall time, Redis CPU (INFO cpu, user + sys deltas) and this process' CPU.
import { writeFile } from 'node:fs/promises';
import { Session } from 'node:inspector/promises';
import type { Redis } from 'ioredis';

/** One command's share of a run, from INFO commandstats deltas (commands run inside scripts included). */
export interface CommandShare {
  readonly command: string;
  readonly calls: number;
  /** Redis' own time in the command, µs (excludes I/O and parsing). */
  readonly usec: number;
}

export interface Measurement {
  readonly seconds: number;
  /** Commands by calls during the window, most first. */
  readonly commands: readonly CommandShare[];
  /** used_cpu_user + used_cpu_sys of redis-server (main and its threads, not forked children). */
  readonly redisCpuSeconds: number;
  /** process.cpuUsage() user + system of the benchmark process (producer and consumers alike). */
  readonly clientCpuSeconds: number;
}

export interface Meter {
  begin(): Promise<void>;
  /** Ends the window and returns its seconds; idempotent. */
  end(): Promise<number>;
}

interface Snapshot {
  readonly at: bigint;
  readonly redisCpu: number;
  readonly commands: Map<string, { calls: number; usec: number }>;
  readonly client: NodeJS.CpuUsage;
}

/** Parses used_cpu_sys and used_cpu_user out of an `INFO cpu` reply, in seconds. */
export function redisCpuFromInfo(info: string): number {
  let total = 0;
  let found = 0;
  for (const line of info.split('\r\n')) {
    const [name, value] = line.split(':');
    if (name === 'used_cpu_sys' || name === 'used_cpu_user') {
      total += Number(value);
      found += 1;
    }
  }
  if (found !== 2 || !Number.isFinite(total)) throw new Error(`INFO cpu without used_cpu_sys/user: ${info}`);
  return total;
}

/** Profiles only the measured window with the V8 inspector (what --cpu-prof would give for the whole process). */
/** Parses `INFO commandstats` lines like `cmdstat_xack:calls=3,usec=12,usec_per_call=4.00,...`. */
export function commandStatsFromInfo(info: string): Map<string, { calls: number; usec: number }> {
  const stats = new Map<string, { calls: number; usec: number }>();
  for (const line of info.split('\r\n')) {
    const match = /^cmdstat_([^:]+):calls=(\d+),usec=(\d+)/.exec(line);
    if (match) stats.set(match[1]!, { calls: Number(match[2]), usec: Number(match[3]) });
  }
  return stats;
}

export class WindowProfiler {
  private session: Session | undefined;

  constructor(private readonly file: string) {}

  async start(): Promise<void> {
    this.session = new Session();
    this.session.connect();
    await this.session.post('Profiler.enable');
    await this.session.post('Profiler.setSamplingInterval', { interval: 200 });
    await this.session.post('Profiler.start');
  }

  async stop(): Promise<void> {
    const session = this.session;
    if (!session) return;
    this.session = undefined;
    const { profile } = await session.post('Profiler.stop');
    session.disconnect();
    await writeFile(this.file, JSON.stringify(profile));
  }
}

export class RunMeter implements Meter {
  private start: Snapshot | undefined;
  private result: Measurement | undefined;

  constructor(
    private readonly control: Redis,
    private readonly profiler?: WindowProfiler,
  ) {}

  private async snapshot(): Promise<Snapshot> {
    const info = await this.control.info('cpu', 'commandstats');
    return {
      at: process.hrtime.bigint(),
      redisCpu: redisCpuFromInfo(info),
      commands: commandStatsFromInfo(info),
      client: process.cpuUsage(),
    };
  }

  async begin(): Promise<void> {
    this.result = undefined;
    await this.profiler?.start();
    this.start = await this.snapshot();
  }

  async end(): Promise<number> {
    if (this.result) return this.result.seconds;
    const start = this.start;
    if (!start) throw new Error('meter.end() before meter.begin()');
    const client = process.cpuUsage(start.client);
    const stop = await this.snapshot();
    const commands: CommandShare[] = [];
    for (const [command, after] of stop.commands) {
      const before = start.commands.get(command) ?? { calls: 0, usec: 0 };
      // the snapshot's own INFO call is not the run's
      const calls = after.calls - before.calls - (command === 'info' ? 1 : 0);
      if (calls > 0) commands.push({ command, calls, usec: after.usec - before.usec });
    }
    commands.sort((a, b) => b.calls - a.calls);
    this.result = {
      seconds: Number(stop.at - start.at) / 1e9,
      commands,
      redisCpuSeconds: stop.redisCpu - start.redisCpu,
      clientCpuSeconds: (client.user + client.system) / 1e6,
    };
    await this.profiler?.stop();
    return this.result.seconds;
  }

  /** The finished window, or undefined when the runner never called begin()/end(). */
  measurement(): Measurement | undefined {
    return this.result;
  }
}
