// The timer wake-up message: published by the schedule and defer scripts on keys.timerWakeChannel when a timer
// lands before its partition's first one, so sleeping movers poll that partition at once.

/** A parsed wake-up: which partition (its hash tag), when the timer is due and how far off that was in Redis time. */
export interface TimerWake {
  readonly tag: string;
  readonly dueMs: number;
  /** ms from the script's Redis TIME to the due time (0 when already due). */
  readonly delayMs: number;
}

/** Parses "<tag> <due ms> <delay ms>"; undefined for anything else (another publisher on the channel). */
export function parseTimerWake(message: string): TimerWake | undefined {
  const match = /^(\{[^\s{}]+\}) (\d{1,16}) (\d{1,16})$/.exec(message);
  if (!match?.[1] || match[2] === undefined || match[3] === undefined) return undefined;
  return { tag: match[1], dueMs: Number(match[2]), delayMs: Number(match[3]) };
}
