// Progress on long work (backfill, replay, requeue, export, drain): a bar redrawn in place on a terminal, or a line
// per step when forced with --progress on a pipe; always on stderr, so stdout stays parseable.
import type { OutputStream } from './output.js';

export interface Progress {
  update(done: number, total: number, note?: string): void;
  /** Ends the bar with a final line. */
  end(note?: string): void;
}

const WIDTH = 24;
/** At most one redraw per interval (a final update is always drawn). */
const REDRAW_MS = 100;

export const silentProgress: Progress = { update: () => undefined, end: () => undefined };

export function createProgress(err: OutputStream, label: string, enabled: boolean): Progress {
  if (!enabled) return silentProgress;
  const inPlace = err.isTTY === true;
  let last = 0;
  let lastLine = '';
  let drawn = false;
  const line = (done: number, total: number, note?: string): string => {
    const ratio = total > 0 ? Math.min(1, done / total) : 1;
    const filled = Math.round(ratio * WIDTH);
    const bar = `${'#'.repeat(filled)}${'-'.repeat(WIDTH - filled)}`;
    return `${label} [${bar}] ${String(Math.round(ratio * 100)).padStart(3)}% ${done}/${total}${note === undefined ? '' : ` ${note}`}`;
  };
  return {
    update(done, total, note) {
      const now = Date.now();
      if (now - last < REDRAW_MS && done < total) return;
      last = now;
      lastLine = line(done, total, note);
      drawn = true;
      err.write(inPlace ? `\r\x1b[2K${lastLine}` : `${lastLine}\n`);
    },
    end(note) {
      if (!drawn && note === undefined) return;
      const text = note === undefined ? lastLine : `${label}: ${note}`;
      err.write(inPlace ? `\r\x1b[2K${text}\n` : note === undefined ? '' : `${text}\n`);
    },
  };
}
