/**
 * n^exponent for like counts, remembered: the kernel divides by a count raised to a
 * fractional power for every co-liker and candidate (tens of thousands per ranking),
 * and Math.pow costs more than the rest of that loop. Counts are small integers, so a
 * table answers almost all of them.
 */
const TABLE_SIZE = 1 << 16;

export class PowerTable {
  private readonly values = new Float64Array(TABLE_SIZE);

  constructor(readonly exponent: number) {
    for (let n = 0; n < TABLE_SIZE; n++) this.values[n] = n ** exponent;
  }

  of(n: number): number {
    return n < TABLE_SIZE ? this.values[n]! : n ** this.exponent;
  }
}

const tables = new Map<number, PowerTable>();

/** The table for `exponent`, built once (the presets use a handful of exponents). */
export function powerTable(exponent: number): PowerTable {
  let table = tables.get(exponent);
  if (!table) tables.set(exponent, (table = new PowerTable(exponent)));
  return table;
}
