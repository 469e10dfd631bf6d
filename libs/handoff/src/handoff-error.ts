/** A handoff the sender could not complete: refused by the receiver, or out of attempts. */
export class HandoffError extends Error {
  constructor(
    message: string,
    readonly code: string,
    /** HTTP status of the last answer, if the receiver answered at all. */
    readonly status: number | undefined,
    readonly attempts: number,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'HandoffError';
  }
}
