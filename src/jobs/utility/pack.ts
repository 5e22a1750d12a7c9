// The utility pack (seed 000 §3.7, 001 §2): Admin exports with checkpoints, storage cleanup through signed URLs (one
// schedule per service), the page-view flush of Events, and the operator-triggered DLQ replayer.
import type { JobPack } from '../catalog.js';
import { environmentPack } from '../pack-settings.js';
import type { Environment } from '../pack-settings.js';
import { dlqReplayJob } from './dlq-replay.js';
import { registerUtilityEvents } from './events.js';
import { exportRunJob } from './export-run.js';
import { pageviewsFlushJob } from './pageviews-flush.js';
import { storageCleanupJob } from './storage-cleanup.js';
import { utilitySettingsFrom } from './utility-settings.js';

/** The pack for the settings in `env` (EXPORT_*, STORAGE_CLEANUP_*); throws ConfigError when they are bad. */
export function createUtilityPack(env: Environment): JobPack {
  const settings = utilitySettingsFrom(env);
  return {
    name: 'utility',
    register: registerUtilityEvents,
    jobs: [exportRunJob(settings), storageCleanupJob(settings), pageviewsFlushJob(), dlqReplayJob()],
  };
}

export const utilityPack: JobPack = environmentPack(
  'utility',
  registerUtilityEvents,
  (env) => createUtilityPack(env).jobs,
);
