/**
 * The subjects of the rules that fire on time passing (deadman, camera): per rule, the devices
 * (or zones) the clock tick must look at, kept in the key-value store as `subjects:{rule}` so
 * every instance ticks them, and cached here.
 *
 * - A tick reads the lists again only every LIST_REFRESH_MS (what other instances added shows up
 *   by then; what this one adds, at once), not on every tick.
 * - A list is pruned (prune) of subjects that have nothing left to watch: no state any more (a
 *   deleted device, a camera whose detections ended), or a deadman that fired and stayed silent
 *   for the silence bound (its alert is out; the state stays, so data resolves it, and the data
 *   puts the subject back). Lists of rules no longer in the city are dropped.
 */
import { StreetWatchError } from '../core/errors.js';
import type { KeyValueStore } from '../core/ports.js';

/** How long a tick trusts its copy of a subject list before reading it again. */
export const LIST_REFRESH_MS = 60_000;
/** Compare-and-set attempts per list before giving up (the caller retries later). */
const MAX_CAS_ATTEMPTS = 20;
/** States read per round trip while pruning. */
const PRUNE_CHUNK = 1_000;

export const SUBJECTS_PREFIX = 'subjects:';

export function subjectsKey(ruleId: string): string {
  return `${SUBJECTS_PREFIX}${ruleId}`;
}

/** Why a subject may leave its rule's list, given its stored state (undefined: none). */
export type Droppable = (subject: string, state: unknown) => boolean;

export class SubjectLists {
  private readonly cache = new Map<string, { subjects: Set<string>; readAt: number }>();

  constructor(private readonly kv: KeyValueStore) {}

  /**
   * Each rule's subjects, read again where this copy is older than LIST_REFRESH_MS at `now`;
   * `refreshed` tells whether any was (what the caller derived from the old copy may be stale).
   */
  async lists(ruleIds: readonly string[], now: number): Promise<{ lists: Map<string, ReadonlySet<string>>; refreshed: boolean }> {
    const stale = ruleIds.filter((id) => {
      const c = this.cache.get(id);
      return !c || now - c.readAt >= LIST_REFRESH_MS || now < c.readAt;
    });
    if (stale.length > 0) {
      const read = await this.kv.getMany<string[]>(stale.map(subjectsKey));
      for (const id of stale) this.cache.set(id, { subjects: new Set(read.get(subjectsKey(id)) ?? []), readAt: now });
    }
    return { lists: new Map(ruleIds.map((id) => [id, this.cache.get(id)!.subjects])), refreshed: stale.length > 0 };
  }

  /**
   * Adds subjects to their rules' lists (compare-and-set: other instances add too). Those this
   * copy already holds are skipped unless `force` (a subject whose state was gone or had fired
   * may have been pruned by another instance since this copy was read).
   */
  async add(subjects: ReadonlyMap<string, ReadonlySet<string>>, force = false): Promise<void> {
    for (const [ruleId, wanted] of subjects) {
      const known = this.cache.get(ruleId)?.subjects;
      const missing = force || !known ? [...wanted] : [...wanted].filter((s) => !known.has(s));
      if (missing.length === 0) continue;
      const key = subjectsKey(ruleId);
      await this.update(key, (list) => {
        const merged = new Set(list);
        for (const s of missing) merged.add(s);
        return merged.size === list.length ? undefined : [...merged].sort();
      });
      const c = this.cache.get(ruleId);
      if (c) for (const s of missing) c.subjects.add(s);
    }
  }

  /** Takes subjects out of every list here (a deleted device), in the store and in this copy. */
  async remove(subjects: ReadonlySet<string>, ruleIds: readonly string[]): Promise<number> {
    let removed = 0;
    for (const ruleId of ruleIds) {
      // The count of the attempt that won (a lost compare-and-set runs the change again).
      let here = 0;
      await this.update(subjectsKey(ruleId), (list) => {
        const kept = list.filter((s) => !subjects.has(s));
        here = list.length - kept.length;
        return kept.length === list.length ? undefined : kept;
      });
      removed += here;
      for (const s of subjects) this.cache.get(ruleId)?.subjects.delete(s);
    }
    return removed;
  }

  /**
   * Drops from each live rule's list the subjects `droppable` says have nothing left to watch,
   * and the lists of rules that are gone; resolves with how many subjects left.
   */
  async prune(liveRules: ReadonlyMap<string, { stateKey: (subject: string) => string; droppable: Droppable }>): Promise<number> {
    let dropped = 0;
    let cursor: string | undefined;
    const lists: string[] = [];
    do {
      const page = await this.kv.scanPrefix(SUBJECTS_PREFIX, cursor);
      lists.push(...page.keys);
      cursor = page.next;
    } while (cursor !== undefined);
    for (const key of lists) {
      const ruleId = key.slice(SUBJECTS_PREFIX.length);
      const rule = liveRules.get(ruleId);
      if (!rule) {
        const list = (await this.kv.getMany<string[]>([key])).get(key) ?? [];
        if (await this.kv.compareAndSet(key, list, undefined)) dropped += list.length;
        this.cache.delete(ruleId);
        continue;
      }
      const list = (await this.kv.getMany<string[]>([key])).get(key) ?? [];
      const gone = new Set<string>();
      for (let i = 0; i < list.length; i += PRUNE_CHUNK) {
        const chunk = list.slice(i, i + PRUNE_CHUNK);
        const states = await this.kv.getMany(chunk.map((s) => rule.stateKey(s)));
        for (const s of chunk) if (rule.droppable(s, states.get(rule.stateKey(s)))) gone.add(s);
      }
      if (gone.size > 0) dropped += await this.remove(gone, [ruleId]);
    }
    return dropped;
  }

  /** Subjects this copy holds in any list (for the devices a reconciliation checks). */
  known(): Set<string> {
    const out = new Set<string>();
    for (const c of this.cache.values()) for (const s of c.subjects) out.add(s);
    return out;
  }

  private async update(key: string, change: (list: string[]) => string[] | undefined): Promise<void> {
    for (let attempt = 1; ; attempt++) {
      const list = (await this.kv.getMany<string[]>([key])).get(key);
      const next = change(list ?? []);
      if (next === undefined) return;
      if (await this.kv.compareAndSet(key, list, next.length > 0 ? next : undefined)) return;
      if (attempt >= MAX_CAS_ATTEMPTS) throw new StreetWatchError('SW_ERR_UNAVAILABLE', ['rule state', `too many concurrent changes to ${key}`]);
    }
  }
}
