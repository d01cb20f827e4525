/**
 * A hook call as the audit log keeps it, for the audit benches: the request as received and the service's answer.
 */
import { handleHook } from '../../src/hooks/handle-hook.js';
import type { HookPipeline } from '../../src/hooks/handle-hook.js';

/** One call: the request's bytes and the answer's text. */
export interface Call {
  readonly request: Buffer;
  readonly response: string;
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
