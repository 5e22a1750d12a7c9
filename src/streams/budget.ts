// Splits a read budget over partitions so the total never exceeds it: an even share each, and the remainder
// to partitions taken in rotation, so small budgets still reach every partition over successive reads.

export function splitBudget(budget: number, partitions: number, rotation: number): number[] {
  const base = Math.floor(budget / partitions);
  const extra = budget % partitions;
  // JS `%` keeps the sign: normalise, or a rotation past the partition count would give every partition a share
  const offset = ((rotation % partitions) + partitions) % partitions;
  return Array.from(
    { length: partitions },
    (_, i) => base + ((i - offset + partitions) % partitions < extra ? 1 : 0),
  );
}
