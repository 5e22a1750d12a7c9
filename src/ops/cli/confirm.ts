// Asks the operator to confirm a destructive step (requeue, drop) on stderr and reads one answer line from stdin;
// no answer (end of input, a closed pipe) counts as no.
import { createInterface } from 'node:readline';
import type { Readable } from 'node:stream';
import type { OutputStream } from './output.js';

export async function confirm(input: Readable, err: OutputStream, question: string): Promise<boolean> {
  err.write(`${question} [y/N] `);
  const lines = createInterface({ input, terminal: false });
  try {
    for await (const line of lines) return /^(y|yes)$/i.test(line.trim());
    return false;
  } finally {
    lines.close();
    err.write('\n');
  }
}
