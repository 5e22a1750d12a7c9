// The job packs this build ships: each domain pack registers its event types and declares its jobs.
import type { JobCatalogEntry } from '../config/index.js';
import type { EventRegistry } from '../events/registry.js';
import type { JobDefinition } from '../pipelines/job-definition.js';
import type { CronScheduleDeclaration } from '../scheduler/cron-schedules.js';
import { escrowPack } from './escrow/pack.js';
import { fundingPack } from './funding/pack.js';
import type { PackContext } from './pack-context.js';
import { playhubPack } from './playhub/pack.js';
import { pricePack } from './price/pack.js';
import { payhubPack } from './payhub/pack.js';
import { campaignsPack } from './campaigns/pack.js';
import { watchlistPack } from './watchlist/pack.js';
import { utilityPack } from './utility/pack.js';
import { commercePack } from './commerce/pack.js';
import { depositsPack } from './deposits/pack.js';
import { exchangePack } from './exchange/pack.js';

/**
 * A job's definition, or a factory for jobs that need the worker's sinks, wheel or configuration; a factory runs
 * only when its job is enabled. `never` accepts a definition of any data type.
 */
export type JobDefinitionSource = JobDefinition<never> | ((context: PackContext) => JobDefinition<never>);

/** One job of a pack: what the PROCESSORS/ENABLE_* resolver sees, and what the runner runs. */
export interface PackJob {
  /** Its name and domain must equal the definition's. */
  readonly catalog: JobCatalogEntry;
  readonly definition: JobDefinitionSource;
  /** Cron schedules whose ticks (`cron.tick`, domain `cron`) this job handles; scheduled only while it is enabled. */
  readonly schedules?: readonly CronScheduleDeclaration[];
}

/** The unit a domain ships in: its event types and its jobs. */
export interface JobPack {
  /** The domain or product it covers, e.g. `playhub`; used in error messages. */
  readonly name: string;
  /** Registers every event type the pack's jobs handle (and the pack's producers publish). */
  register(registry: EventRegistry): void;
  readonly jobs: readonly PackJob[];
  /** Packs with settings of their own (provider lists, feeds) build their jobs from the environment given here. */
  jobsFor?(environment: Readonly<Record<string, string | undefined>>): readonly PackJob[];
}

/** A pack's jobs for this environment (the merged process environment and .env file the worker was loaded from). */
export function packJobsOf(
  pack: JobPack,
  environment: Readonly<Record<string, string | undefined>> = process.env,
): readonly PackJob[] {
  return pack.jobsFor ? pack.jobsFor(environment) : pack.jobs;
}

/** The definition of a pack job, calling its factory if it has one. */
export function definitionOf(job: PackJob, context: PackContext): JobDefinition<never> {
  return typeof job.definition === 'function' ? job.definition(context) : job.definition;
}

// Domain packs (playhub, escrow, funding, ...) land with the jobs issue: each is appended here.
export const jobPacks: readonly JobPack[] = [
  playhubPack,
  escrowPack,
  fundingPack,
  pricePack,
  payhubPack,
  campaignsPack,
  watchlistPack,
  utilityPack,
  depositsPack,
  exchangePack,
  commercePack,
];
