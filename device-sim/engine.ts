/**
 * The simulation itself, without I/O: every device reports on its own fixed grid of simulated
 * times, and `take` hands out the publications that are due, in (time, device) order. What a
 * device sends depends only on the seed, its id, the scenario and the simulated time, never on
 * how fast the wall clock runs or how the broker keeps up, so a run is exactly reproducible.
 */
import type { SimDevice } from './fleet.js';
import { conditionsAt, type Conditions, type Incident } from './incidents.js';
import { MODELS, type DeviceModel } from './models.js';
import { seedFor, seededRandom } from './random.js';

export interface Emission {
  /** Simulated epoch ms the device published at. */
  t: number;
  deviceId: string;
  topic: string;
  payload: string;
}

export interface EngineOptions {
  fleet: readonly SimDevice[];
  seed: number;
  /** Simulated epoch ms the run starts at. */
  start: number;
  /** Simulated time between reports for every device; default: each kind's own. */
  intervalMs?: number;
  /** Per report: the chance it is dropped, and the chance it is faulty. */
  background?: { dropout: number; faults: number };
  incidents?: ReadonlyMap<string, Incident[]>;
}

interface Runtime {
  index: number;
  device: SimDevice;
  model: DeviceModel<unknown>;
  state: unknown;
  rand: () => number;
  /** A separate stream for background mishaps, so turning them on leaves the signals unchanged. */
  mishap: () => number;
  incidents: Incident[];
  intervalMs: number;
  next: number;
}

export class SimulationEngine {
  private readonly heap: Runtime[] = [];
  private readonly byId = new Map<string, Runtime>();
  private readonly background: { dropout: number; faults: number };

  constructor(opts: EngineOptions) {
    this.background = opts.background ?? { dropout: 0, faults: 0 };
    opts.fleet.forEach((device, index) => {
      const model = MODELS[device.kind];
      const rand = seededRandom(seedFor(opts.seed, device.id));
      const intervalMs = opts.intervalMs ?? model.intervalMs;
      // Devices are not synchronised: each starts at its own phase within its interval.
      const next = opts.start + Math.floor(rand() * intervalMs);
      const state = model.init(device.id, { zoneKind: device.zoneKind, zoneTags: device.zoneTags }, rand, opts.start);
      const rt: Runtime = {
        index,
        device,
        model,
        state,
        rand,
        mishap: seededRandom(seedFor(opts.seed, `${device.id}#mishap`)),
        incidents: [...(opts.incidents?.get(device.id) ?? [])],
        intervalMs,
        next,
      };
      this.byId.set(device.id, rt);
      this.push(rt);
    });
  }

  /** Simulated time of the next publication due (Infinity with no devices). */
  nextDue(): number {
    return this.heap[0]?.next ?? Infinity;
  }

  /** Adds an incident to one device from now on (the simulator's "h" key). */
  addIncident(deviceId: string, incident: Incident): void {
    this.byId.get(deviceId)?.incidents.push(incident);
  }

  /** The publications due at or before `until`, oldest first; stops after about `limit`. */
  take(until: number, limit: number): Emission[] {
    const out: Emission[] = [];
    while (this.heap.length > 0 && this.heap[0]!.next <= until && out.length < limit) {
      const rt = this.pop();
      const t = rt.next;
      const c = this.conditions(rt, t);
      // A dropped report was still measured: the device steps on and only the message is lost,
      // so what comes through after a dropout is what would have come anyway.
      const publications = rt.model.step(rt.state, t, c, rt.rand);
      if (!c.dropout) {
        for (const p of publications) out.push({ t, deviceId: rt.device.id, topic: `v1/devices/${rt.device.id}/${p.channel}`, payload: p.payload });
      }
      rt.next = t + rt.intervalMs;
      this.push(rt);
    }
    return out;
  }

  private conditions(rt: Runtime, t: number): Conditions {
    const c = conditionsAt(rt.incidents, t);
    // Always two draws, so one report's luck never shifts the next one's.
    const drop = rt.mishap();
    const fault = rt.mishap();
    if (drop < this.background.dropout) return { ...c, dropout: true };
    if (fault < this.background.faults && c.fault === undefined) return { ...c, fault: fault < this.background.faults / 2 ? 'spike' : 'garbage' };
    return c;
  }

  // A binary min-heap on (next, index): the device order breaks ties, deterministically.
  private less(a: Runtime, b: Runtime): boolean {
    return a.next < b.next || (a.next === b.next && a.index < b.index);
  }

  private push(rt: Runtime): void {
    const h = this.heap;
    h.push(rt);
    let i = h.length - 1;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (!this.less(h[i]!, h[parent]!)) break;
      [h[i], h[parent]] = [h[parent]!, h[i]!];
      i = parent;
    }
  }

  private pop(): Runtime {
    const h = this.heap;
    const top = h[0]!;
    const last = h.pop()!;
    if (h.length > 0) {
      h[0] = last;
      let i = 0;
      for (;;) {
        const l = 2 * i + 1;
        const r = l + 1;
        let m = i;
        if (l < h.length && this.less(h[l]!, h[m]!)) m = l;
        if (r < h.length && this.less(h[r]!, h[m]!)) m = r;
        if (m === i) break;
        [h[i], h[m]] = [h[m]!, h[i]!];
        i = m;
      }
    }
    return top;
  }
}
