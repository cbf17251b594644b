/** Numbers as the benchmark tables and JSON lines print them. */

/** A whole count with thousands separators: 12345.6 → "12,346". */
export const count = (value: number): string => Math.round(value).toLocaleString('en-US');

/** Right-aligned in a column `width` wide. */
export const cell = (text: string, width: number): string => text.padStart(width);

/** `value` to `digits` decimals, still a number (for the JSON line). */
export function round(value: number, digits: number): number {
  return Number(value.toFixed(digits));
}
