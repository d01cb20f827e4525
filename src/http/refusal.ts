/**
 * The base of the errors that refuse a request (HTTP errors, failed client authentication): expected, answered and
 * logged by their message, never by their stack. So they capture none: a stack through express's frames cost about
 * 15 us, more than the rest of a 429 answer, and a client flooding the service with calls over its limit or with bad
 * tokens made the refusals the service's largest cost.
 */
export class Refusal extends Error {
  /**
   * @param message - what was refused and why.
   */
  constructor(message: string) {
    const limit = Error.stackTraceLimit;
    Error.stackTraceLimit = 0;
    super(message);
    Error.stackTraceLimit = limit;
  }
}
