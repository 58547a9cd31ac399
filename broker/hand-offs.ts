/**
 * The broker's hand-offs to the pipeline, across all its connections: at most `concurrency` at
 * once on the bus, the rest waiting their turn here in arrival order; while `maxWaiting` wait, no
 * connection is read (each finds the gate shut and is woken once half of them have gone on).
 *
 * Why: the bus bounds what may wait for room in it and refuses beyond (the embedded log: a tenth
 * of its bound), and a refused publish closes its connection unacknowledged. A whole fleet's
 * publishes can arrive at once (the network's buffers read after a pause of the event loop, a
 * stage fallen behind), each connection well within its own window, so the bus's refusal fell on
 * whichever devices came last. Held here, under the bus's bound, they are acknowledged late
 * instead, and while too many wait the kernel's buffers fill and TCP slows the devices.
 *
 * When the gate opens, the connections that found it shut are woken in the order they did, only
 * as many at once as the room below `maxWaiting` holds at `perConnection` publishes each (a woken
 * connection may bring its whole window of publishes in progress, MQTT_CLIENT_INFLIGHT); the
 * others on later turns, as room is made. Waking all of them at once let a fleet of 10,000 bring
 * ten times the line's bound at every opening.
 *
 * Bounds: hand-offs on the bus ≤ `concurrency`. Waiting here: `maxWaiting`, plus what the
 * connections reading when the gate shut had read of their last slice (client-stream.ts).
 */

/** A connection's reading, as the gate sees it. */
import { Fifo } from '../core/fifo.js';

export interface ReadGate {
  /** Whether connections may be read now. */
  readonly open: boolean;
  /** Calls `wake` once when the gate opens again (again only if asked again). */
  whenOpen(wake: () => void): void;
  /** Forgets a connection that closed while it waited. */
  forget(wake: () => void): void;
}

export interface HandOffLimits {
  /** Hand-offs on the bus at once. */
  concurrency: number;
  /** Hand-offs waiting for their turn at which no connection is read. */
  maxWaiting: number;
  /** Publishes a woken connection may bring before its own window stops it. Default 1. */
  perConnection?: number;
}

export class HandOffs implements ReadGate {
  private active = 0;
  /** Hand-offs waiting for their turn, in order. */
  private readonly waiting = new Fifo<() => void>();
  /** Connections that found the gate shut, in the order they did (a Set keeps it). */
  private readonly shut = new Set<() => void>();
  private gateOpen = true;
  /** Publishes the connections woken this turn may still bring: room kept for them until the next check phase. */
  private promised = 0;
  private release: NodeJS.Immediate | undefined;

  constructor(private readonly limits: HandOffLimits) {}

  get open(): boolean {
    return this.gateOpen;
  }

  /** Hand-offs on the bus now. */
  get inProgress(): number {
    return this.active;
  }

  /** Hand-offs waiting for their turn now. */
  get queued(): number {
    return this.waiting.length;
  }

  whenOpen(wake: () => void): void {
    if (this.gateOpen) wake();
    else this.shut.add(wake);
  }

  forget(wake: () => void): void {
    this.shut.delete(wake);
  }

  /** Runs `task` when its turn comes; settles as it does. */
  run<T>(task: () => Promise<T>): Promise<T> {
    if (this.active < this.limits.concurrency) return this.start(task);
    return new Promise<T>((resolve, reject) => {
      this.waiting.push(() => this.start(task).then(resolve, reject));
      if (this.gateOpen && this.queued >= this.limits.maxWaiting) this.gateOpen = false;
    });
  }

  private start<T>(task: () => Promise<T>): Promise<T> {
    this.active++;
    let running: Promise<T>;
    try {
      running = task();
    } catch (err) {
      running = Promise.reject(err);
    }
    return running.finally(() => {
      this.active--;
      this.next();
    });
  }

  private next(): void {
    if (this.active < this.limits.concurrency) this.waiting.shift()?.();
    if (!this.gateOpen && this.queued * 2 <= this.limits.maxWaiting) this.gateOpen = true;
    if (this.gateOpen && this.shut.size > 0) this.wakeSome();
  }

  /**
   * Wakes the connections first in line, as many as the room holds. Their publishes reach `run`
   * within the turn (a woken connection's read is parsed on the next tick), so the room is kept
   * for them until the next check phase, which wakes the next ones. One that finds the gate shut
   * again goes to the back of the line.
   */
  private wakeSome(): void {
    const per = this.limits.perConnection ?? 1;
    let n = Math.floor((this.limits.maxWaiting - this.queued - this.promised) / per);
    // However large a window, a line with nobody promised wakes someone: it cannot stall.
    if (n < 1 && this.promised === 0) n = 1;
    if (n < 1) return;
    const woken: (() => void)[] = [];
    for (const wake of this.shut) {
      woken.push(wake);
      if (woken.length >= n) break;
    }
    for (const wake of woken) this.shut.delete(wake);
    this.promised += woken.length * per;
    this.release ??= setImmediate(() => {
      this.release = undefined;
      this.promised = 0;
      if (this.gateOpen && this.shut.size > 0) this.wakeSome();
    });
    for (const wake of woken) wake();
  }
}
