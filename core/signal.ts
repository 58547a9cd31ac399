/**
 * Something happened in this process: the listeners are called in turn, at once. One that
 * throws does not keep the others from hearing it.
 */
export class Signal {
  private readonly listeners = new Set<() => void>();

  /** Calls `listener` on every notice from now on; the function returned stops that. */
  on(listener: () => void): () => void {
    const own = (): void => listener();
    this.listeners.add(own);
    return () => void this.listeners.delete(own);
  }

  notify(): void {
    for (const listener of [...this.listeners]) {
      try {
        listener();
      } catch {
        // The listener's own business: the notice is not the place to fail.
      }
    }
  }
}
