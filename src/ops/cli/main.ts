#!/usr/bin/env node
// The `workers` binary: runs one command of the operator CLI with the job packs this build ships.
import { runCli } from './program.js';

process.exitCode = await runCli(process.argv.slice(2), {
  // loaded only by the commands that need them (publish, run, backfill): the packs bring every sink with them
  packs: async () => (await import('../../jobs/catalog.js')).jobPacks,
});
