/**
 * What the service read from a client's FHIR server for one hook call, kept for the audit log: a call answered
 * without prefetch was judged on data its request body does not hold, and a dispute ("what did the service see when
 * it said this refill was covered?") needs that data as it was read, not as the EHR holds it months later.
 *
 * Each GET is noted as it ends: its URL, how long it took, and the body as received (text already checked to be
 * JSON) or why there is none. The bodies are kept as the text they came in, so keeping them costs no serializing on
 * the request thread; past KEPT_BODY_CHARS for one call, a later body is noted as not kept and let go at once (not
 * held until the answer is sent).
 */

/** One GET to the client's FHIR server. */
export interface FhirRead {
  /** The URL read (the token is sent in a header, never in it). */
  readonly url: string;
  readonly ms: number;
  /** The HTTP status, when the server answered one. */
  readonly status?: number;
  /** The body as received, when it was JSON. */
  readonly text?: string;
  /** Why the read brought back no usable resource, in the words the call's problems use. */
  readonly error?: string;
  /** True when its body came past the call's KEPT_BODY_CHARS and was not kept. */
  readonly notKept?: true;
}

/** Where one call's reads are noted, in the order they end. */
export type FhirReads = FhirRead[];

/** The most body text kept for one call (about 16 MB): a larger record is noted read, its later bodies not kept. */
export const KEPT_BODY_CHARS = 16 * 1024 * 1024;

/**
 * Notes a read that ended. Its body is kept while the call's kept bodies stay within KEPT_BODY_CHARS; past that it is
 * dropped here and the read marked not kept (a smaller body after it may still fit).
 * @param reads - the call's reads.
 * @param read - the read.
 */
export function noteRead(reads: FhirReads, read: FhirRead): void {
  if (read.text === undefined) {
    reads.push(read);
    return;
  }
  let kept = 0;
  for (const r of reads) kept += r.text?.length ?? 0;
  if (kept + read.text.length <= KEPT_BODY_CHARS) {
    reads.push(read);
    return;
  }
  const { url, ms, status, error } = read;
  reads.push({ url, ms, ...(status === undefined ? {} : { status }), ...(error === undefined ? {} : { error }), notKept: true });
}

/**
 * The reads of one call as JSON text: `{"fhirServer": ..., "reads": [{"url", "ms", "status", "body" | "error",
 * "notKept"}]}`. Bodies are spliced in as received (each parsed once already, so the text is valid JSON).
 * @param fhirServer - the request's fhirServer.
 * @param reads - the reads, in the order they ended (noted by noteRead).
 * @returns the text, or undefined when nothing was read.
 */
export function readsText(fhirServer: string | undefined, reads: readonly FhirRead[]): string | undefined {
  if (reads.length === 0) return undefined;
  const parts = reads.map((r) => {
    const fields = [`"url":${JSON.stringify(r.url)}`, `"ms":${String(r.ms)}`];
    if (r.status !== undefined) fields.push(`"status":${String(r.status)}`);
    if (r.error !== undefined) fields.push(`"error":${JSON.stringify(r.error)}`);
    if (r.text !== undefined) fields.push(`"body":${r.text}`);
    else if (r.notKept) {
      fields.push(`"notKept":${JSON.stringify(`the bodies read for this call passed ${String(KEPT_BODY_CHARS / 1024 / 1024)} MB`)}`);
    }
    return `{${fields.join(',')}}`;
  });
  return `{${fhirServer === undefined ? '' : `"fhirServer":${JSON.stringify(fhirServer)},`}"reads":[${parts.join(',')}]}`;
}
