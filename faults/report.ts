// The fault suite's result format: one JSON line per scenario, the pass/fail rule, and the Markdown table the
// README shows.

/** What one scenario measured. Counts are over the events the scenario published (or timers it scheduled). */
export interface ScenarioResult {
  /** `<n>-<name>`, e.g. `02-kill-consumers`. */
  readonly scenario: string;
  readonly events: number;
  /** Events not applied downstream (poison: not dead-lettered with the expected reason) when the run ended. */
  readonly lost: number;
  /** Handler calls beyond the first per event, as the downstream saw them (redeliveries, retries, replays). */
  readonly duplicatedDeliveries: number;
  /** Effects applied more than once downstream (per Idempotency-Key, and per event under different keys). */
  readonly appliedTwice: number;
  /** Timers that entered the stream, or were applied, before their due time (Redis time). */
  readonly earlyTimers: number;
  /** Everything reached its final state (applied or dead-lettered, nothing pending) before the deadline. */
  readonly recovered: boolean;
  /** From the end of the (last) fault to the first outcome written after it; null when the scenario has none. */
  readonly recoveryMs: number | null;
  readonly durationMs: number;
  /** Scenario-specific expectations that did not hold (empty when all did). */
  readonly checks: readonly string[];
  /** Scenario-specific figures (kills, releases, DLQ reasons, throughput, ...). */
  readonly details: Readonly<Record<string, unknown>>;
}

/** A scenario fails on any loss, double application, early timer or failed check. */
export function failed(result: ScenarioResult): boolean {
  return result.lost > 0 || result.appliedTwice > 0 || result.earlyTimers > 0 || result.checks.length > 0;
}

/** The JSON line printed for a scenario (stable field order). */
export function resultLine(result: ScenarioResult): string {
  return JSON.stringify({
    scenario: result.scenario,
    events: result.events,
    lost: result.lost,
    duplicatedDeliveries: result.duplicatedDeliveries,
    appliedTwice: result.appliedTwice,
    earlyTimers: result.earlyTimers,
    recovered: result.recovered,
    recoveryMs: result.recoveryMs,
    durationMs: result.durationMs,
    checks: result.checks,
    details: result.details,
  });
}

/** A scenario that threw before it could measure: reported as failed, with the error as its check. */
export function crashedResult(scenario: string, error: unknown, durationMs: number): ScenarioResult {
  const message = error instanceof Error ? (error.stack ?? error.message) : String(error);
  return {
    scenario,
    events: 0,
    lost: 0,
    duplicatedDeliveries: 0,
    appliedTwice: 0,
    earlyTimers: 0,
    recovered: false,
    recoveryMs: null,
    durationMs,
    checks: [`scenario threw: ${message.split('\n').slice(0, 4).join(' | ')}`],
    details: {},
  };
}

function seconds(ms: number | null): string {
  return ms === null ? '-' : `${(ms / 1000).toFixed(1)} s`;
}

/** The README table: one row per scenario. */
export function markdownTable(results: readonly ScenarioResult[]): string {
  const header =
    '| scenario | events | lost | duplicated deliveries | applied twice | early timers | recovered | recovery | duration |\n' +
    '|---|---:|---:|---:|---:|---:|---|---:|---:|';
  const rows = results.map(
    (r) =>
      `| ${r.scenario} | ${r.events} | ${r.lost} | ${r.duplicatedDeliveries} | ${r.appliedTwice} | ` +
      `${r.earlyTimers} | ${r.recovered ? 'yes' : 'no'}${r.checks.length > 0 ? ' (checks failed)' : ''} | ` +
      `${seconds(r.recoveryMs)} | ${seconds(r.durationMs)} |`,
  );
  return [header, ...rows].join('\n');
}
