/**
 * The base of the errors that refuse a request (HTTP errors, failed client authentication): expected, answered and
 * logged by their message, never by their stack. So they capture none. Under a flood of calls over the rate limit,
 * capturing the stack was 13 % of the service's CPU, more than any other function in the profile (about 15 us per
 * error 20 frames deep, 1.4 us without the stack; docs/benchmarks.md, session 11).
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
