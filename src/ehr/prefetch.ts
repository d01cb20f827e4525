/**
 * The embedded EHR's prefetch, as an EHR that prefetches (the CDS Hooks sandbox, most EHRs) fills it: it reads the
 * service's prefetch templates from discovery, fills their tokens from the hook's context, and answers each from its
 * own FHIR server: a read gives the resource (null when there is none), a search a searchset Bundle. A template the
 * EHR cannot fill (a token the context has no value for) is left out, as the spec allows.
 */
import { parseSearchRequest } from '@medplum/core';
import type { Resource } from '@medplum/fhirtypes';
import type { EmbeddedFhir } from '../fhir/embedded-server.js';
import { fillTemplate, parseTemplate } from '../hooks/prefetch-template.js';
import type { HookContext, HookName } from '../hooks/types.js';

/** The longest the EHR waits for discovery. */
const DISCOVERY_TIMEOUT_MS = 10_000;

/**
 * The prefetch templates a service declares, from its discovery.
 * @param base - where the service answers.
 * @param service - the service id.
 * @returns key -> template (none when the service declares none or discovery does not name it).
 */
export async function prefetchTemplates(base: string, service: string): Promise<Record<string, string>> {
  const res = await fetch(`${base}/cds-services`, { headers: { Accept: 'application/json' }, signal: AbortSignal.timeout(DISCOVERY_TIMEOUT_MS) });
  if (!res.ok) throw new Error(`discovery answered HTTP ${String(res.status)}`);
  const discovery = (await res.json()) as { services?: { id?: unknown; prefetch?: unknown }[] };
  const declared = discovery.services?.find((s) => s.id === service)?.prefetch;
  if (typeof declared !== 'object' || declared === null) return {};
  return Object.fromEntries(Object.entries(declared).filter((e): e is [string, string] => typeof e[1] === 'string'));
}

async function answer(fhir: EmbeddedFhir, query: string, kind: 'read' | 'search'): Promise<Resource | null> {
  if (kind === 'search') return fhir.repo.search(parseSearchRequest(query));
  const [type, id] = query.split('/');
  return fhir.repo.readResource(type as Resource['resourceType'], decodeURIComponent(id ?? '')).catch(() => null);
}

/**
 * Fills a service's prefetch from the EHR's FHIR server.
 * @param fhir - the embedded FHIR server.
 * @param templates - key -> template, from discovery.
 * @param hook - the hook called.
 * @param context - the hook's context.
 * @returns key -> resource, searchset Bundle or null.
 */
export async function fillPrefetch(fhir: EmbeddedFhir, templates: Readonly<Record<string, string>>, hook: HookName, context: Record<string, unknown>): Promise<Record<string, Resource | null>> {
  const filled = await Promise.all(
    Object.entries(templates).map(async ([key, template]) => {
      let parsed;
      try {
        parsed = parseTemplate(template, hook);
      } catch {
        return [];
      }
      const query = fillTemplate(parsed, context as unknown as HookContext);
      return query === undefined ? [] : [[key, await answer(fhir, query, parsed.kind)] as const];
    })
  );
  return Object.fromEntries(filled.flat());
}
