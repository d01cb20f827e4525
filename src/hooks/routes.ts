/**
 * The CDS Hooks endpoints: discovery, service invocation and feedback.
 */
import express from 'express';
import type { Request, Response, Router } from 'express';
import type { FhirReads } from '../fhir/fhir-reads.js';
import { methodNotAllowed } from '../http/outcomes.js';
import { fhirServerPolicy } from '../security/access.js';
import { accessOf } from '../security/authenticate.js';
import type { FeedbackStore } from '../store/feedback-store.js';
import { toDescriptor } from '../services/service-definitions.js';
import { findService, handleHook } from './handle-hook.js';
import type { HookPipeline } from './handle-hook.js';
import { parseFeedback } from './parse-feedback.js';
import type { CdsDiscoveryResponse } from './types.js';

/** What the CDS routes need. */
export interface CdsRoutesDeps {
  /** The pipeline a call is answered with (the rules current when it arrived). */
  readonly pipeline: (res: Response) => HookPipeline;
  readonly feedback: FeedbackStore;
  /** Whether the process has answered with a service, now or before a reload removed it (its cards' feedback is kept). */
  readonly servedBefore: (id: string) => boolean;
  readonly clock: () => Date;
  readonly production: boolean;
}

function serviceId(req: Request): string {
  return String(req.params['id']);
}

/**
 * Builds the router mounted at `/cds-services`.
 * @param deps - pipeline, feedback store and clock.
 * @returns the router.
 */
export function cdsRoutes(deps: CdsRoutesDeps): Router {
  const router = express.Router();
  // Discovery: https://cds-hooks.hl7.org/2.0/#discovery (made once per set of rules).
  const discoveries = new WeakMap<HookPipeline, CdsDiscoveryResponse>();
  router.get('/', (_req, res) => {
    const pipeline = deps.pipeline(res);
    let discovery = discoveries.get(pipeline);
    if (!discovery) discoveries.set(pipeline, (discovery = { services: [...pipeline.services.values()].map(toDescriptor) }));
    res.json(discovery);
  });

  // Calling a CDS Service: https://cds-hooks.hl7.org/2.0/#calling-a-cds-service
  router.post('/:id', async (req: Request, res: Response) => {
    res.locals['serviceId'] = serviceId(req);
    // Noted as they end, the refused call's too: the audit record keeps them (record-invocations.ts).
    const reads: FhirReads = [];
    res.locals['fhirReads'] = reads;
    // A caller that closes its connection before the answer (an EHR past its own timeout) gets no more reads made for it.
    const callerGone = new AbortController();
    res.on('close', () => {
      if (!res.writableFinished) callerGone.abort();
    });
    const body = await handleHook(deps.pipeline(res), serviceId(req), req.body, deps.clock(), {
      mayContact: fhirServerPolicy(accessOf(res), deps.production),
      reads,
      callerGone: callerGone.signal,
    });
    res.json(body);
  });

  // Feedback: https://cds-hooks.hl7.org/2.0/#feedback
  router.post('/:id/feedback', async (req: Request, res: Response) => {
    // A service a reload removed still takes the feedback on the cards it gave; one never served is 404.
    const id = deps.servedBefore(serviceId(req)) ? serviceId(req) : findService(deps.pipeline(res), serviceId(req)).id;
    res.locals['serviceId'] = id;
    const items = parseFeedback(req.body);
    await deps.feedback.save(id, items, deps.clock());
    res.json({ stored: items.length });
  });

  router.all('/', () => {
    throw methodNotAllowed(['GET', 'OPTIONS']);
  });
  router.all(['/:id', '/:id/feedback'], () => {
    throw methodNotAllowed(['POST', 'OPTIONS']);
  });
  return router;
}
