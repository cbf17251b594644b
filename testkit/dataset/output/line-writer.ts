/**
 * Lines are built as bytes, so there are no string ropes to flatten and nothing to re-encode
 * on the way to a file.
 */

/** The longest line an event writes (a reply post with its text), with room to spare. */
export const MAX_EVENT_BYTES = 4096;
export const ASCII_ZERO = 48;

export function asciiBytes(text: string): Uint8Array {
  return Uint8Array.from(text, (char) => char.charCodeAt(0));
}

export class LineWriter {
  private bytes: Buffer;
  length = 0;

  constructor(private readonly capacity: number) {
    this.bytes = Buffer.allocUnsafe(capacity);
  }

  /** Makes room for `extra` bytes; the writes below do no bound checks of their own. */
  reserve(extra: number): void {
    if (this.length + extra <= this.bytes.length) return;
    const grown = Buffer.allocUnsafe(Math.max(2 * this.bytes.length, this.length + extra));
    this.bytes.copy(grown, 0, 0, this.length);
    this.bytes = grown;
  }

  byte(code: number): void {
    this.bytes[this.length++] = code;
  }

  /** Plain ASCII, such as the constant parts of a line. */
  ascii(text: string): void {
    const { bytes } = this;
    let at = this.length;
    for (let i = 0; i < text.length; i++) bytes[at++] = text.charCodeAt(i);
    this.length = at;
  }

  utf8(text: string): void {
    this.reserve(Buffer.byteLength(text));
    this.length += this.bytes.write(text, this.length, 'utf8');
  }

  /** A non-negative safe integer in decimal. */
  integer(value: number): void {
    const { bytes } = this;
    const start = this.length;
    let end = start;
    do {
      const next = Math.floor(value / 10);
      bytes[end++] = ASCII_ZERO + value - next * 10;
      value = next;
    } while (value > 0);
    this.length = end;
    // The digits came out least significant first.
    for (let i = start, j = end - 1; i < j; i++, j--) {
      const digit = bytes[i]!;
      bytes[i] = bytes[j]!;
      bytes[j] = digit;
    }
  }

  /** `chars` base32 characters of 5 bits each (at most 6), most significant first. */
  base32(value: number, chars: number, alphabet: Uint8Array): void {
    for (let shift = 5 * (chars - 1); shift >= 0; shift -= 5) this.bytes[this.length++] = alphabet[(value >>> shift) & 31]!;
  }

  copy(source: Uint8Array, start: number, count: number): void {
    for (let i = 0; i < count; i++) this.bytes[this.length++] = source[start + i]!;
  }

  textSince(start: number): string {
    return this.bytes.toString('utf8', start, this.length);
  }

  /** Hands over everything written so far as a string, and starts afresh. */
  takeText(): string {
    const text = this.textSince(0);
    this.length = 0;
    return text;
  }

  /** Hands over everything written so far as bytes, and starts afresh in a new buffer. */
  takeBytes(): Buffer {
    const written = this.bytes.subarray(0, this.length);
    this.bytes = Buffer.allocUnsafe(this.capacity);
    this.length = 0;
    return written;
  }
}
