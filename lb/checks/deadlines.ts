// Check deadlines on ONE timer (1,000 servers at `inter 1s` start 1,000 deadlines a second and
// nearly all of them are cancelled a millisecond later, when the check answers). Deadlines of the
// same duration are set in due order, so each duration gets a FIFO lane instead of a heap: set is
// an append, clear blanks the slot (no search, and the lane stops referencing the check at once
// so a finished check is not kept alive until its deadline), and the timer only wakes up for the
// earliest live entry — about once per duration per interval in the common case where every check
// answers in time. Unlike a setTimeout per check, nothing is allocated per deadline: a lane's
// arrays are kept and refilled from the start once it empties (they stay at their largest size,
// a few thousand slots for 1,000 servers at `inter 1s`).
import { performance } from 'node:perf_hooks';

/** The object a deadline belongs to. `deadlineSlot` and `deadlineLane` belong to the queue (-1 and undefined = none). */
export interface Expirable {
  deadlineSlot: number;
  deadlineLane: DeadlineLane | undefined;
  /** Called once, from the timer, when the deadline passed without being cleared. */
  expire(): void;
}

/** One duration's deadlines, in due order; absolute slot = base + index. Live entries are in [head, tail). */
export interface DeadlineLane {
  readonly ms: number;
  readonly owners: (Expirable | undefined)[];
  readonly dues: number[];
  head: number;
  tail: number;
  base: number;
}

export class Deadlines {
  readonly #lanes = new Map<number, DeadlineLane>();
  #timer: NodeJS.Timeout | undefined;
  #timerDue = Infinity;
  /** Bound once: no closure per arming. */
  readonly #onTimer = (): void => this.#fire();
  /** The lane of the last set() (checks mostly use one or two durations): no Map lookup then. */
  #last: DeadlineLane | undefined;

  /** Arms `o` to expire `ms` from now, replacing its previous deadline. */
  set(o: Expirable, ms: number): void {
    this.clear(o);
    const due = performance.now() + ms;
    let lane = this.#last;
    if (lane === undefined || lane.ms !== ms) {
      lane = this.#lanes.get(ms);
      if (lane === undefined) {
        lane = { ms, owners: [], dues: [], head: 0, tail: 0, base: 0 };
        this.#lanes.set(ms, lane);
      }
      this.#last = lane;
    }
    const i = lane.tail++;
    o.deadlineSlot = lane.base + i;
    // Writes at index ≤ length: an append or a reuse, never a hole.
    lane.owners[i] = o;
    lane.dues[i] = due;
    o.deadlineLane = lane;
    if (due < this.#timerDue) this.#arm(due);
  }

  clear(o: Expirable): void {
    const slot = o.deadlineSlot;
    if (slot < 0) return;
    const lane = o.deadlineLane;
    o.deadlineSlot = -1;
    o.deadlineLane = undefined;
    if (lane === undefined) return;
    const i = slot - lane.base;
    if (i >= lane.head && i < lane.tail && lane.owners[i] === o) lane.owners[i] = undefined;
  }

  /** Live deadlines (tests). */
  get size(): number {
    let n = 0;
    for (const lane of this.#lanes.values()) for (let i = lane.head; i < lane.tail; i++) if (lane.owners[i] !== undefined) n++;
    return n;
  }

  #arm(due: number): void {
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    this.#timerDue = due;
    // Never early: Node's 1 ms timer granularity rounds up, a check may expire up to ~1 ms late.
    this.#timer = setTimeout(this.#onTimer, Math.max(0, Math.ceil(due - performance.now())));
    // Deadlines alone do not keep the process alive: the check's socket does.
    this.#timer.unref();
  }

  #fire(): void {
    this.#timer = undefined;
    this.#timerDue = Infinity;
    const now = performance.now();
    let next = Infinity;
    const expired: Expirable[] = [];
    const expiredDue: number[] = [];
    let lanesFired = 0;
    for (const lane of this.#lanes.values()) {
      const before = expired.length;
      const { owners, dues, tail } = lane;
      let h = lane.head;
      // Drop cleared slots even when not due yet, fire the due ones, stop at the first live one.
      for (; h < tail; h++) {
        const o = owners[h];
        if (o === undefined) continue;
        const due = dues[h] ?? 0;
        if (due > now) {
          if (due < next) next = due;
          break;
        }
        owners[h] = undefined;
        o.deadlineSlot = -1;
        o.deadlineLane = undefined;
        expired.push(o);
        expiredDue.push(due);
      }
      if (expired.length > before) lanesFired++;
      lane.head = h;
      if (h === tail) {
        // Empty: refill from index 0 (every slot before `tail` is already undefined).
        lane.base += h;
        lane.head = 0;
        lane.tail = 0;
      } else if (h > 1024 && h > tail >> 1) {
        // Mostly dead prefix: move the live part to the front.
        owners.copyWithin(0, h, tail);
        dues.copyWithin(0, h, tail);
        owners.fill(undefined, tail - h, tail);
        lane.base += h;
        lane.head = 0;
        lane.tail = tail - h;
      }
    }
    if (next < Infinity) this.#arm(next);
    // Each lane is in due order; when a late wake-up finds several lanes due, merge them so that
    // deadlines still expire in due order (a stable sort keeps each lane's own order).
    if (lanesFired > 1) {
      const order = expired.map((_, i) => i).sort((x, y) => (expiredDue[x] ?? 0) - (expiredDue[y] ?? 0));
      const sorted = order.map((i) => expired[i]!);
      expired.length = 0;
      expired.push(...sorted);
    }
    // After the bookkeeping: an expire() may set new deadlines.
    for (const o of expired) o.expire();
  }
}

/** The deadlines of every check connection of the process. */
export const checkDeadlineQueue = new Deadlines();
