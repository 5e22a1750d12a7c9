// `npm run faults`: runs the fault-injection scenarios one after another against real worker processes, real
// redis-server processes and a counting downstream; prints one JSON line per scenario on stdout (progress on
// stderr) and exits 1 when any scenario lost an event, applied one twice, fired a timer early or failed a check.
import { parseArgs } from 'node:util';
import type { ScenarioOptions } from './harness.js';
import { crashedResult, failed, markdownTable, resultLine, type ScenarioResult } from './report.js';
import { scenarios } from './scenarios/index.js';

const USAGE = `usage: npm run faults -- [--quick] [--only 2,5,kill] [--events N] [--markdown] [--list]
  --quick     small counts and short faults (a smoke run of a few minutes)
  --only      scenarios by number or by part of their name, comma-separated
  --events    event count for every scenario (overrides the sizes built in)
  --markdown  print the README table after the JSON lines
  --list      list the scenarios and exit`;

const { values } = parseArgs({
  options: {
    quick: { type: 'boolean', default: false },
    only: { type: 'string' },
    events: { type: 'string' },
    markdown: { type: 'boolean', default: false },
    list: { type: 'boolean', default: false },
    help: { type: 'boolean', default: false },
  },
});

if (values.help) {
  console.log(USAGE);
  process.exit(0);
}
if (values.list) {
  for (const s of scenarios) console.log(`${s.name.padEnd(24)} ${s.title}`);
  process.exit(0);
}

const events = values.events === undefined ? undefined : Number(values.events);
if (events !== undefined && (!Number.isInteger(events) || events < 1)) {
  console.error(`--events must be a positive integer, got "${values.events}"\n${USAGE}`);
  process.exit(2);
}

const wanted = values.only?.split(',').map((part) => part.trim().toLowerCase());
const selected = scenarios.filter(
  (s) =>
    wanted === undefined ||
    wanted.some((w) => (/^\d+$/.test(w) ? Number(s.name.split('-')[0]) === Number(w) : s.name.includes(w))),
);
if (selected.length === 0) {
  console.error(`--only ${values.only ?? ''} matches no scenario (see --list)`);
  process.exit(2);
}

const options: ScenarioOptions = {
  size: values.quick ? 'quick' : 'full',
  ...(events === undefined ? {} : { events }),
};

const results: ScenarioResult[] = [];
for (const scenario of selected) {
  process.stderr.write(`faults: ${scenario.name}: ${scenario.title}\n`);
  const startedAt = Date.now();
  let result: ScenarioResult;
  try {
    result = await scenario.run(options);
  } catch (error) {
    result = crashedResult(scenario.name, error, Date.now() - startedAt);
  }
  results.push(result);
  process.stdout.write(`${resultLine(result)}\n`);
  if (failed(result)) process.stderr.write(`faults: ${scenario.name} FAILED ${result.checks.join('; ')}\n`);
}

if (values.markdown) process.stdout.write(`\n${markdownTable(results)}\n`);
const failures = results.filter(failed);
process.stderr.write(
  `faults: ${results.length - failures.length} of ${results.length} scenarios passed` +
    (failures.length > 0 ? `; failed: ${failures.map((r) => r.scenario).join(', ')}` : '') +
    '\n',
);
process.exit(failures.length > 0 ? 1 : 0);
