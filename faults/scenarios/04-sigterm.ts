// Scenario 4: a consumer gets SIGTERM every 2 s (and is replaced) under load. It stops reading, finishes what is
// in flight within its grace period, releases the rest with a retry hint due now, and exits 0.
import type { WorkerChild } from '../../test/support/worker-children.js';
import { JOB, commonChecks, resultOf, sized, startRig, type Scenario } from '../harness.js';
import { churnWorkers } from '../worker-churn.js';

// grace shorter than some handlers, so both paths run: finished in the grace period, and released
const SETTINGS = { CONCURRENCY: 16, HANDLER_DELAY_MS: 150, GRACE_MS: 100, CLAIM_FLOOR_MS: 30_000 };

export const sigterm: Scenario = {
  name: '04-sigterm',
  title: 'SIGTERM a consumer every 2 s under load (grace 100 ms, handlers 150 ms)',
  async run(options) {
    const startedAt = Date.now();
    const rig = await startRig({ name: 'sigterm' });
    try {
      const events = rig.events(sized(options, { ci: 1_000, quick: 3_000, full: 20_000 }));
      await rig.publish(events);
      await rig.startWorkers(4, SETTINGS);
      const exits: Awaited<ReturnType<WorkerChild['terminate']>>[] = [];
      // entries the stopped consumer still owns without a retry hint wait for the claim floor
      const orphans: { consumer: string; ids: string[]; lines: unknown[] }[] = [];
      const terminate = async (w: WorkerChild): Promise<void> => {
        exits.push(await w.terminate());
        const ids: string[] = [];
        for (const p of rig.partitions) {
          const rows = (await rig.redis.xpending(p.stream, JOB, '-', '+', 1_000, w.consumer)) as [string][];
          for (const [id] of rows) if ((await rig.redis.zscore(p.retry(JOB), id)) === null) ids.push(id);
        }
        if (ids.length > 0) {
          orphans.push({ consumer: w.consumer, ids, lines: w.lines.filter((l) => l.outcome === undefined) });
        }
      };
      const churn = churnWorkers(rig, SETTINGS, {
        everyMs: 2_000,
        max: options.size === 'full' ? 30 : 8,
        hit: terminate,
      });
      let recovered = await rig.settle({ applied: events }, 180_000);
      await churn.stop();
      recovered = recovered && (await rig.settle({ applied: events }, 30_000));
      const measured = await rig.measure({ applied: events });
      const checks = commonChecks(rig);
      const unclean = exits.filter((e) => e.code !== 0);
      if (unclean.length > 0) {
        checks.push(
          `${unclean.length} consumers did not exit 0 on SIGTERM: ${JSON.stringify(unclean.slice(0, 3))}`,
        );
      }
      const orphaned = orphans.reduce((sum, o) => sum + o.ids.length, 0);
      if (orphaned > 0) {
        checks.push(
          `${orphaned} entries left pending without a release hint at exit (they wait for the claim floor)`,
        );
      }
      const claimed = rig.workers.flatMap((w) => w.outcomes).filter((o) => o.source === 'claimed').length;
      const loopErrors = rig.workerLines('loopError') as { where: string; error: string }[];
      return resultOf(this.name, {
        events: events.length,
        measured,
        recovered,
        startedAt,
        checks,
        details: {
          terminations: exits.length,
          released: exits.reduce((sum, e) => sum + (e.released ?? 0), 0),
          slowestExitMs: Math.max(0, ...exits.map((e) => e.ms)),
          graceMs: SETTINGS.GRACE_MS,
          orphanedAtExit: orphaned,
          claimedAfterFloor: claimed,
          orphans: orphans.slice(0, 2),
          loopErrors: loopErrors.length,
          replacementsNotStarted: churn.errors.length,
          firstLoopErrors: loopErrors.slice(0, 3),
        },
      });
    } finally {
      await rig.close();
    }
  },
};
