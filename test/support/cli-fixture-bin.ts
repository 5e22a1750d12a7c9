// The `workers` CLI with the test fixture packs instead of the shipped ones (a fixture job `fixture.record` and a
// cron job `fixture.sweep` with schedule `fixture.sweep`), so `run`, `backfill` and `publish` have known jobs.
import { runCli } from '../../src/ops/cli/program.js';
import { createCronFixturePack, createFixturePack } from './worker-fixture-jobs.js';

process.exitCode = await runCli(process.argv.slice(2), {
  packs: [createFixturePack().pack, createCronFixturePack().pack],
});
