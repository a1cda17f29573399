/**
 * The simulator's clock: a binary min-heap of events ordered by (time, insertion sequence), so
 * simultaneous events run in the order they were scheduled (FIFO ties make runs reproducible).
 *
 * Events are three numbers (kind, a, b) in typed arrays — no object per event — because the large
 * presets schedule tens of millions of them. Cancellation is real removal (O(log n)): every slot
 * knows its heap position, and a handle carries a generation so a stale handle is a no-op.
 */

/** Opaque handle from {@link EventQueue.push}; pass it to {@link EventQueue.cancel}. */
export type EventHandle = number;

const SLOT_BITS = 2 ** 24; // handles = slot + generation × 2^24 (slots < 16.7 M concurrent events)

/**
 * @example
 * const q = new EventQueue();
 * const h = q.push(5, KIND_DONE, transferId, 0);
 * q.cancel(h);                  // removed; a later cancel(h) does nothing
 * while (q.pop()) handle(q.kind, q.a, q.b, q.now);
 */
export class EventQueue {
  /** Time of the event last popped (the simulation clock). */
  now = 0;
  /** Fields of the event last popped. */
  kind = 0;
  a = 0;
  b = 0;

  private time = new Float64Array(1024);
  private seq = new Float64Array(1024);
  private kinds = new Int32Array(1024);
  private as = new Int32Array(1024);
  private bs = new Int32Array(1024);
  private gen = new Uint32Array(1024);
  private pos = new Int32Array(1024); // heap index of slot, -1 when free
  private heap = new Int32Array(1024); // slot ids
  private free: number[] = [];
  private nextSlot = 0;
  private size = 0;
  private counter = 0;

  /** Events waiting. */
  get length(): number {
    return this.size;
  }

  /** Schedules an event at `time` (≥ now) and returns a handle for cancellation. */
  push(time: number, kind: number, a: number, b: number): EventHandle {
    if (!(time >= this.now)) throw new RangeError(`event in the past: ${time} < ${this.now}`);
    const slot = this.free.length > 0 ? (this.free.pop() as number) : this.grow();
    this.time[slot] = time;
    this.seq[slot] = this.counter++;
    this.kinds[slot] = kind;
    this.as[slot] = a;
    this.bs[slot] = b;
    const i = this.size++;
    this.heap[i] = slot;
    this.pos[slot] = i;
    this.up(i);
    return slot + (this.gen[slot] as number) * SLOT_BITS;
  }

  /** Removes a pending event. Returns false if it already ran or was cancelled. */
  cancel(handle: EventHandle): boolean {
    const slot = handle % SLOT_BITS;
    if (slot >= this.nextSlot || Math.floor(handle / SLOT_BITS) !== this.gen[slot]) return false;
    const i = this.pos[slot] as number;
    if (i < 0) return false;
    this.removeAt(i);
    this.release(slot);
    return true;
  }

  /** Pops the earliest event into now/kind/a/b. False when the queue is empty. */
  pop(): boolean {
    if (this.size === 0) return false;
    const slot = this.heap[0] as number;
    this.now = this.time[slot] as number;
    this.kind = this.kinds[slot] as number;
    this.a = this.as[slot] as number;
    this.b = this.bs[slot] as number;
    this.removeAt(0);
    this.release(slot);
    return true;
  }

  /** Time of the earliest event, or Infinity. */
  peekTime(): number {
    return this.size === 0 ? Infinity : (this.time[this.heap[0] as number] as number);
  }

  private release(slot: number): void {
    this.pos[slot] = -1;
    this.gen[slot] = ((this.gen[slot] as number) + 1) % 0x1fffffff;
    this.free.push(slot);
  }

  private removeAt(i: number): void {
    const last = this.heap[--this.size] as number;
    if (i === this.size) return;
    this.heap[i] = last;
    this.pos[last] = i;
    if (i > 0 && this.less(last, this.heap[(i - 1) >> 1] as number)) this.up(i);
    else this.down(i);
  }

  private less(x: number, y: number): boolean {
    const tx = this.time[x] as number, ty = this.time[y] as number;
    return tx < ty || (tx === ty && (this.seq[x] as number) < (this.seq[y] as number));
  }

  private up(i: number): void {
    const slot = this.heap[i] as number;
    while (i > 0) {
      const p = (i - 1) >> 1;
      const ps = this.heap[p] as number;
      if (!this.less(slot, ps)) break;
      this.heap[i] = ps;
      this.pos[ps] = i;
      i = p;
    }
    this.heap[i] = slot;
    this.pos[slot] = i;
  }

  private down(i: number): void {
    const slot = this.heap[i] as number;
    const n = this.size;
    for (;;) {
      let c = 2 * i + 1;
      if (c >= n) break;
      const r = c + 1;
      if (r < n && this.less(this.heap[r] as number, this.heap[c] as number)) c = r;
      const cs = this.heap[c] as number;
      if (!this.less(cs, slot)) break;
      this.heap[i] = cs;
      this.pos[cs] = i;
      i = c;
    }
    this.heap[i] = slot;
    this.pos[slot] = i;
  }

  private grow(): number {
    const slot = this.nextSlot++;
    if (slot >= SLOT_BITS) throw new RangeError("EventQueue: too many concurrent events");
    if (slot >= this.time.length) {
      const n = this.time.length * 2;
      this.time = growF(this.time, n);
      this.seq = growF(this.seq, n);
      this.kinds = growI(this.kinds, n);
      this.as = growI(this.as, n);
      this.bs = growI(this.bs, n);
      this.pos = growI(this.pos, n);
      this.heap = growI(this.heap, n);
      const g = new Uint32Array(n);
      g.set(this.gen);
      this.gen = g;
    }
    return slot;
  }
}

function growF(a: Float64Array, n: number): Float64Array<ArrayBuffer> {
  const b = new Float64Array(n);
  b.set(a);
  return b;
}
function growI(a: Int32Array, n: number): Int32Array<ArrayBuffer> {
  const b = new Int32Array(n);
  b.set(a);
  return b;
}
