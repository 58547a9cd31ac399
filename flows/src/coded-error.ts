import { StreetWatchError } from '../../core/errors.js';

/**
 * An error as a flow sees it: the platform's code (SW_ERR_...) as `code`, which a catch node
 * copies into `msg.error.code`, and in the text Node-RED shows in the debug sidebar.
 */
export class CodedError extends Error {
  constructor(
    readonly code: string,
    message: string,
    /** The alert's ref, for an error about an alert. */
    readonly ref?: string,
  ) {
    super(message);
    this.name = 'CodedError';
  }

  override toString(): string {
    return `${this.code}: ${this.message}`;
  }

  static from(err: unknown): CodedError {
    if (err instanceof CodedError) return err;
    if (err instanceof StreetWatchError) return new CodedError(err.code, err.message);
    return new CodedError('SW_ERR_INTERNAL', err instanceof Error ? err.message : String(err));
  }
}
