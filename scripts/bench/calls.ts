/**
 * A hook call as the audit log keeps it, for the audit benches: the request as received, the service's answer, and
 * for a call without prefetch what the service read from the EHR.
 */
import { readsText } from '../../src/fhir/fhir-reads.js';
import { handleHook } from '../../src/hooks/handle-hook.js';
import type { HookPipeline } from '../../src/hooks/handle-hook.js';

/** One call: the request's bytes, the answer's text, and the reads' text when the service read the record. */
export interface Call {
  readonly request: Buffer;
  readonly response: string;
  readonly fetched?: string;
}

/**
 * Answers a request body with the order-sign service, in process.
 * @param pipeline - the loaded pipeline.
 * @param body - the request body.
 * @param now - the evaluation time.
 * @returns the call.
 */
export async function answeredCall(pipeline: HookPipeline, body: unknown, now: Date): Promise<Call> {
  return { request: Buffer.from(JSON.stringify(body)), response: JSON.stringify(await handleHook(pipeline, 'intrathecal-order-sign', body, now)) };
}

/**
 * A call sent without prefetch, as the audit log keeps it: the request without its prefetch, the same answer, and the
 * record read from the fhirServer, one read per prefetch key with the key's data as its body (what the service reads
 * for such a call, as the audit test of the seeds shows).
 * @param pipeline - the loaded pipeline.
 * @param body - the request body with its prefetch.
 * @param now - the evaluation time.
 * @returns the call.
 */
export async function readFromEhrCall(pipeline: HookPipeline, body: { prefetch?: Record<string, unknown>; fhirServer?: string }, now: Date): Promise<Call> {
  const { prefetch = {}, ...sent } = body;
  const server = body.fhirServer ?? 'http://localhost:3000/fhir';
  const reads = Object.entries(prefetch).map(([key, value]) => ({ url: `${server}/${key}`, ms: 1, status: 200, text: JSON.stringify(value) }));
  return { ...(await answeredCall(pipeline, body, now)), request: Buffer.from(JSON.stringify(sent)), fetched: readsText(server, reads) ?? '' };
}
