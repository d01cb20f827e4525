/**
 * Code-system URIs that name the same system, and code spellings that mean the same code. Real data carries
 * HCPCS under three URIs and ICD-10-CM codes with or without the dot; both sides of every comparison go through here.
 */

/** Canonical URI per alias (keys are aliases; a canonical URI maps to itself). */
const ALIASES: Record<string, string> = {
  'https://www.cms.gov/Medicare/Coding/HCPCSReleaseCodeSets': 'https://www.cms.gov/Medicare/Coding/HCPCSReleaseCodeSets',
  'http://www.cms.gov/Medicare/Coding/HCPCSReleaseCodeSets': 'https://www.cms.gov/Medicare/Coding/HCPCSReleaseCodeSets',
  'http://terminology.hl7.org/CodeSystem/hcpcs-Level-II': 'https://www.cms.gov/Medicare/Coding/HCPCSReleaseCodeSets',
  'urn:oid:2.16.840.1.113883.6.285': 'https://www.cms.gov/Medicare/Coding/HCPCSReleaseCodeSets',
  'http://hl7.org/fhir/sid/icd-10-cm': 'http://hl7.org/fhir/sid/icd-10-cm',
  'urn:oid:2.16.840.1.113883.6.90': 'http://hl7.org/fhir/sid/icd-10-cm',
  'http://www.nlm.nih.gov/research/umls/rxnorm': 'http://www.nlm.nih.gov/research/umls/rxnorm',
  'urn:oid:2.16.840.1.113883.6.88': 'http://www.nlm.nih.gov/research/umls/rxnorm',
  'http://snomed.info/sct': 'http://snomed.info/sct',
  'urn:oid:2.16.840.1.113883.6.96': 'http://snomed.info/sct',
  'http://loinc.org': 'http://loinc.org',
  'urn:oid:2.16.840.1.113883.6.1': 'http://loinc.org',
  'http://www.ama-assn.org/go/cpt': 'http://www.ama-assn.org/go/cpt',
  'urn:oid:2.16.840.1.113883.6.12': 'http://www.ama-assn.org/go/cpt',
  'urn:oid:2.16.840.1.113883.3.221.5': 'urn:oid:2.16.840.1.113883.3.221.5',
  'https://nahdo.org/sopt': 'urn:oid:2.16.840.1.113883.3.221.5',
};

/**
 * Systems whose hierarchy is spelled in the code itself, so is-a is a prefix test: ICD-10-CM (G89.2 is the parent of
 * G89.21) and the Source of Payment Typology used for Coverage.type (1 Medicare, 11 Medicare managed care, 111 ...).
 */
const PREFIX_HIERARCHIES = new Set(['http://hl7.org/fhir/sid/icd-10-cm', 'urn:oid:2.16.840.1.113883.3.221.5']);

/**
 * The canonical URI of a code system.
 * @param system - a system URI as found in data or in a value set.
 * @returns the canonical URI (the input itself when it has no known alias).
 */
export function canonicalSystem(system: string): string {
  return ALIASES[system.trim()] ?? system.trim();
}

/**
 * A code as compared: ICD-10-CM without its dot and upper-cased, HCPCS upper-cased, others trimmed.
 * @param system - canonical system URI.
 * @param code - the code.
 * @returns the comparable form.
 */
export function comparableCode(system: string, code: string): string {
  if (system === 'http://hl7.org/fhir/sid/icd-10-cm') return code.trim().toUpperCase().replace('.', '');
  if (system === 'https://www.cms.gov/Medicare/Coding/HCPCSReleaseCodeSets') return code.trim().toUpperCase();
  return code.trim();
}

/**
 * Whether `is-a` filters on this system can be answered from the code's spelling.
 * @param system - canonical system URI.
 * @returns true for prefix-hierarchical systems.
 */
export function hasPrefixHierarchy(system: string): boolean {
  return PREFIX_HIERARCHIES.has(system);
}
