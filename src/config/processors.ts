// Decides which jobs this process runs, from PROCESSORS (job names, domain aliases) and the ENABLE_* toggles.
import { ConfigError } from '../errors.js';

/** What the resolver needs to know about one job. */
export interface JobCatalogEntry {
  /** Job name, e.g. `cfb.settle`. */
  readonly name: string;
  /** Domain the job belongs to, e.g. `playhub`; usable as a PROCESSORS alias. */
  readonly domain: string;
  /** Extra PROCESSORS aliases, e.g. `cfb`. The first dotted segment of the name is always one. */
  readonly aliases?: readonly string[];
  /** The ENABLE_* variable that toggles this job, e.g. `ENABLE_CFB_SETTLE`; several jobs may share one. */
  readonly enableFlag?: string;
  /** Runs without PROCESSORS when its flag is unset. Default true. */
  readonly enabledByDefault?: boolean;
}

/** Every alias that selects the job: its domain, its listed aliases and its name's first dotted segment. */
function aliasesOf(job: JobCatalogEntry): Set<string> {
  return new Set([job.domain, ...(job.aliases ?? []), job.name.split('.')[0] ?? job.name]);
}

/** The explicit value of the job's toggle, undefined when it has none or it is unset. */
function flagValue(
  job: JobCatalogEntry,
  enableFlags: Readonly<Record<string, boolean>>,
): boolean | undefined {
  return job.enableFlag === undefined ? undefined : enableFlags[job.enableFlag];
}

/**
 * The sorted names of the jobs to run.
 * - PROCESSORS unset: every job whose ENABLE_* flag is true, or unset and the job is enabled by default.
 * - PROCESSORS set: the jobs it names, plus every job of the aliases it names, whatever their default;
 *   an explicit ENABLE_*=false still removes an alias-selected job (the flag is the narrower statement).
 * Throws ConfigError for an item that matches nothing (listing the known names and aliases), for a job
 * named in PROCESSORS whose flag is false, and for an alias whose every job is switched off.
 */
export function resolveProcessors(
  catalog: readonly JobCatalogEntry[],
  processors: readonly string[] | undefined,
  enableFlags: Readonly<Record<string, boolean>>,
): string[] {
  if (processors === undefined) {
    return catalog
      .filter((job) => flagValue(job, enableFlags) ?? job.enabledByDefault ?? true)
      .map((job) => job.name)
      .sort();
  }

  const unknown: string[] = [];
  const problems: string[] = [];
  const selected = new Set<string>();
  for (const item of processors) {
    const named = catalog.filter((job) => job.name === item);
    const matched = named.length > 0 ? named : catalog.filter((job) => aliasesOf(job).has(item));
    if (matched.length === 0) {
      unknown.push(item);
      continue;
    }
    const switchedOff = matched.filter((job) => flagValue(job, enableFlags) === false);
    const remaining = matched.filter((job) => !switchedOff.includes(job));
    if (named.length > 0 || remaining.length === 0) {
      // Naming a job (or a whole alias) and switching it off in the same environment is a contradiction.
      for (const job of switchedOff) {
        problems.push(
          `PROCESSORS: "${item}" selects ${job.name} but ${job.enableFlag ?? ''}=false switches it off ` +
            `(expected ${job.enableFlag ?? ''} unset or true, or ${job.name} left out of PROCESSORS)`,
        );
      }
    }
    for (const job of remaining) selected.add(job.name);
  }

  if (unknown.length > 0) {
    const names = catalog.map((job) => job.name).sort();
    const aliases = [...new Set(catalog.flatMap((job) => [...aliasesOf(job)]))].sort();
    problems.unshift(
      `PROCESSORS: unknown ${unknown.map((item) => `"${item}"`).join(', ')} ` +
        `(expected job names: ${names.join(', ') || 'none'}; aliases: ${aliases.join(', ') || 'none'})`,
    );
  }
  if (problems.length > 0) {
    throw new ConfigError(problems.join('\n'), 'PROCESSORS');
  }
  return [...selected].sort();
}

/** ENABLE_* variables present that no job of the catalog uses: likely typos, worth a warning at start-up. */
export function unusedEnableFlags(
  catalog: readonly JobCatalogEntry[],
  enableFlags: Readonly<Record<string, boolean>>,
): string[] {
  const used = new Set(catalog.map((job) => job.enableFlag));
  return Object.keys(enableFlags)
    .filter((flag) => !used.has(flag))
    .sort();
}
