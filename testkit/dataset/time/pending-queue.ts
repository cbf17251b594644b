export type PendingAction = 'activatePost' | 'unlike' | 'deletePost';

/** Something that falls due later than the event that caused it. */
export interface PendingEvent {
  atUs: number;
  order: number;
  action: PendingAction;
  user: number;
  post: number;
  /** When the like's record key was minted, for an unlike. */
  rkeyUs: number;
}

/** Min-heap of events due later, by time then insertion order (so output is deterministic). */
export class PendingQueue {
  private readonly heap: PendingEvent[] = [];
  private pushed = 0;

  get nextUs(): number {
    return this.heap[0]?.atUs ?? Number.POSITIVE_INFINITY;
  }

  push(atUs: number, action: PendingAction, user: number, post: number, rkeyUs = 0): void {
    this.heap.push({ atUs, order: this.pushed++, action, user, post, rkeyUs });
    let i = this.heap.length - 1;
    while (i > 0) {
      const parent = (i - 1) >>> 1;
      if (!this.before(i, parent)) break;
      this.swap(i, parent);
      i = parent;
    }
  }

  pop(): PendingEvent {
    const top = this.heap[0]!;
    const last = this.heap.pop()!;
    if (this.heap.length > 0) {
      this.heap[0] = last;
      let i = 0;
      for (;;) {
        const left = 2 * i + 1;
        const right = left + 1;
        let smallest = i;
        if (left < this.heap.length && this.before(left, smallest)) smallest = left;
        if (right < this.heap.length && this.before(right, smallest)) smallest = right;
        if (smallest === i) break;
        this.swap(i, smallest);
        i = smallest;
      }
    }
    return top;
  }

  private before(i: number, j: number): boolean {
    const a = this.heap[i]!;
    const b = this.heap[j]!;
    return a.atUs < b.atUs || (a.atUs === b.atUs && a.order < b.order);
  }

  private swap(i: number, j: number): void {
    const a = this.heap[i]!;
    this.heap[i] = this.heap[j]!;
    this.heap[j] = a;
  }
}
