/**
 * The per-address limit on failed authentications (AUTH_FAILURES_PER_MINUTE), shared by every surface that takes a
 * credential: the hook and feedback calls (a client's JWT) and the audit log (a reader's token). An address that
 * spends its failures on one is refused on both until its bucket refills, so tokens cannot be guessed on the
 * surface that checks them fastest. Buckets live in the process: with WORKERS > 1 each process counts on its own.
 */
import type { HttpError } from '../http/outcomes.js';
import { TokenBuckets, throttled } from '../http/rate-limit.js';
import type { Logger } from '../log.js';

/** Counts refused credentials per address and refuses an address that is over the limit. */
export class FailedAuthentications {
  private readonly buckets: TokenBuckets;

  /**
   * @param perMinute - failures an address may have per minute (AUTH_FAILURES_PER_MINUTE).
   * @param log - where crossing the limit is reported (without the address: it can identify a person).
   * @param clock - milliseconds now.
   */
  constructor(
    private readonly perMinute: number,
    private readonly log: Logger,
    clock: () => number = Date.now
  ) {
    this.buckets = new TokenBuckets(perMinute, clock);
  }

  /**
   * The 429 for an address over the limit, before its credential is checked; undefined when it may try.
   * @param address - the caller's address.
   * @returns the error to answer with, or undefined.
   */
  refusal(address: string): HttpError | undefined {
    const wait = this.buckets.wait(address);
    return wait > 0 ? throttled(wait, 'failed authentications from this address') : undefined;
  }

  /**
   * Counts one refused credential; logs once when the address reaches the limit.
   * @param address - the caller's address.
   * @param requestId - the request, for the log line.
   */
  failed(address: string, requestId: string): void {
    if (this.buckets.take(address) === 0 && this.buckets.wait(address) > 0) {
      this.log.warn({ requestId, perMinute: this.perMinute }, 'failed authentications from one address over AUTH_FAILURES_PER_MINUTE: its calls are refused (429) until the limit refills');
    }
  }
}
