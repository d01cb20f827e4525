/**
 * The embedded FHIR R4 server of the development default: Medplum's FhirRouter over its in-memory repository,
 * loaded from the fixture Bundles, served at `/fhir`. Hook requests without prefetch, the SMART app and the
 * CDS Hooks sandbox all read the same patients from it. Not served in production unless EMBEDDED_FHIR=true.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { getStatus, isOk, OperationOutcomeError, validateResource } from '@medplum/core';
import { FhirRouter, MemoryRepository } from '@medplum/fhir-router';
import type { HttpMethod } from '@medplum/fhir-router';
import type { Bundle, CapabilityStatement, Resource } from '@medplum/fhirtypes';
import express from 'express';
import type { Request, RequestHandler, Response, Router } from 'express';
import { indexFhirDefinitionsInSteps } from './definitions.js';

/** Resource types the embedded server advertises in its CapabilityStatement. */
const SERVED_TYPES = [
  'Patient',
  'Practitioner',
  'Condition',
  'Device',
  'MedicationRequest',
  'Medication',
  'Observation',
  'Procedure',
  'MedicationAdministration',
  'Coverage',
  'ClaimResponse',
  'Claim',
  'ServiceRequest',
  'DeviceRequest',
  'DocumentReference',
  'Organization',
] as const;

/** The embedded server: its express router and its repository (tests read and write the repository directly). */
export interface EmbeddedFhir {
  readonly router: Router;
  readonly repo: MemoryRepository;
}

/**
 * Loads every `*.json` file of a folder into a repository, keeping the fixtures' ids: FHIR Bundles, or arrays of
 * resources (the draft orders, which an EHR that keeps pended orders serves too).
 * @param repo - the repository.
 * @param dir - the fixtures folder.
 * @returns how many resources were loaded.
 */
export async function loadFixtures(repo: MemoryRepository, dir: string): Promise<number> {
  let count = 0;
  if (!existsSync(dir)) return count;
  for (const file of readdirSync(dir).filter((f) => f.endsWith('.json')).sort()) {
    const content = JSON.parse(readFileSync(join(dir, file), 'utf8')) as Bundle | Resource[];
    const resources = Array.isArray(content) ? content : (content.entry ?? []).flatMap((e) => (e.resource ? [e.resource] : []));
    for (const resource of resources) {
      await repo.createResource(resource, { assignedId: true });
      count++;
    }
  }
  return count;
}

function capabilityStatement(): CapabilityStatement {
  return {
    resourceType: 'CapabilityStatement',
    status: 'active',
    date: '2026-11-22',
    kind: 'instance',
    software: { name: 'intrathecal-cds embedded FHIR server (Medplum fhir-router, in memory)' },
    fhirVersion: '4.0.1',
    format: ['application/fhir+json', 'json'],
    rest: [
      {
        mode: 'server',
        resource: SERVED_TYPES.map((type) => ({
          type,
          interaction: [{ code: 'read' }, { code: 'search-type' }, { code: 'create' }, { code: 'update' }],
        })),
      },
    ],
  };
}

function send(res: Response, status: number, body: Resource): void {
  res.status(status).type('application/fhir+json').send(JSON.stringify(body));
}

/**
 * Builds the embedded FHIR server.
 * @param fixturesDir - folder of Bundles to load.
 * @param ordersDir - folder of draft orders to load as well (pended orders, as an EHR keeps them).
 * @param extensions - given the repository, handlers run after body parsing and before FHIR handling (SMART
 *   endpoints, token checks).
 * @returns the router to mount at `/fhir` and its repository.
 */
export async function createEmbeddedFhir(fixturesDir: string, ordersDir?: string, extensions: (repo: MemoryRepository) => readonly RequestHandler[] = () => []): Promise<EmbeddedFhir> {
  await indexFhirDefinitionsInSteps();
  const repo = new MemoryRepository();
  await loadFixtures(repo, fixturesDir);
  if (ordersDir) await loadFixtures(repo, ordersDir);
  const fhirRouter = new FhirRouter();
  const router = express.Router();
  router.use((_req, res, next) => {
    res.setHeader('Access-Control-Allow-Origin', '*');
    res.setHeader('Access-Control-Allow-Methods', 'GET, POST, PUT, OPTIONS');
    res.setHeader('Access-Control-Allow-Headers', 'Authorization, Content-Type, Accept');
    next();
  });
  router.options('/{*path}', (_req, res) => {
    res.sendStatus(204);
  });
  router.use(express.json({ type: ['application/json', 'application/fhir+json'], limit: '5mb' }));
  router.get('/metadata', (_req, res) => {
    send(res, 200, capabilityStatement());
  });
  for (const handler of extensions(repo)) router.use(handler);
  router.use(async (req: Request, res: Response) => {
    const body: unknown = req.body;
    if ((req.method === 'POST' || req.method === 'PUT') && body && typeof body === 'object') {
      try {
        validateResource(body as Resource);
      } catch (err) {
        if (err instanceof OperationOutcomeError) {
          send(res, 400, err.outcome);
          return;
        }
        throw err;
      }
    }
    const [outcome, resource] = await fhirRouter.handleRequest(
      {
        method: req.method as HttpMethod,
        url: req.url.slice(1),
        pathname: '',
        body,
        params: {},
        query: {},
        headers: req.headers,
      },
      repo
    );
    send(res, getStatus(outcome), isOk(outcome) && resource ? resource : outcome);
  });
  return { router, repo };
}
