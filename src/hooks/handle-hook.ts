/**
 * One hook call, from parsed JSON body to response body, without HTTP: the same path serves the HTTP endpoint
 * and the command line. Parsing -> data assembly -> evaluation -> wire JSON.
 */
import { notFound } from '../http/outcomes.js';
import type { ServiceDefinition } from '../services/service-definitions.js';
import { assembleData } from './assemble-data.js';
import type { AssembledData, AssembleOptions } from './assemble-data.js';
import { parseHookRequest } from './parse-request.js';
import type { CdsResponse, HookRequest } from './types.js';
import { toWireResponse } from './wire-json.js';

/** Everything an evaluation sees. */
export interface EvaluationInput {
  readonly service: ServiceDefinition;
  readonly request: HookRequest;
  readonly data: AssembledData;
  /** Evaluation time: fixed in tests, the clock otherwise. */
  readonly now: Date;
}

/** Turns an evaluation input into cards and system actions; pure. */
export type Evaluator = (input: EvaluationInput) => CdsResponse;

/** What the pipeline needs. */
export interface HookPipeline {
  readonly services: ReadonlyMap<string, ServiceDefinition>;
  readonly evaluate: Evaluator;
  /** One deadline for all FHIR calls of a request. */
  readonly prefetchDeadlineMs: number;
  /** Timeout of each single FHIR call. */
  readonly fhirCallTimeoutMs: number;
}

/**
 * Looks a service up by its public id.
 * @param pipeline - the pipeline.
 * @param serviceId - the id from the URL.
 * @returns the service.
 * @throws HttpError 404 when there is no such service.
 */
export function findService(pipeline: HookPipeline, serviceId: string): ServiceDefinition {
  const service = pipeline.services.get(serviceId);
  if (!service) throw notFound(`There is no CDS service "${serviceId}"; GET /cds-services lists them`);
  return service;
}

/** What the HTTP endpoint adds to a call: whom the service may contact, where its reads are noted, whether its caller left. */
export type CallOptions = Pick<AssembleOptions, 'mayContact' | 'reads' | 'callerGone'>;

/**
 * Answers one hook call.
 * @param pipeline - services, evaluator and limits.
 * @param serviceId - the id from the URL.
 * @param body - the parsed JSON body.
 * @param now - the evaluation time.
 * @param options - whether the caller allows the service to contact the request's fhirServer (all may when absent),
 *   where the reads from it are noted (for the audit log), and a signal aborted when the caller closes its connection.
 * @returns the response body as sent on the wire.
 * @throws HttpError 404, 400 or 412 as the protocol says.
 */
export async function handleHook(pipeline: HookPipeline, serviceId: string, body: unknown, now: Date, options: CallOptions = {}): Promise<Record<string, unknown>> {
  const service = findService(pipeline, serviceId);
  const request = parseHookRequest(body, service);
  const data = await assembleData(service, request, { deadlineMs: pipeline.prefetchDeadlineMs, callTimeoutMs: pipeline.fhirCallTimeoutMs, ...options });
  return toWireResponse(pipeline.evaluate({ service, request, data, now }));
}
