/**
 * SMART App Launch scopes (v2 syntax `patient/Condition.rs`, v1 `patient/Condition.read` accepted) and what they
 * allow on the embedded FHIR server.
 */

/** Resource types the app reads. */
export const READ_TYPES = ['Patient', 'Condition', 'Device', 'MedicationRequest', 'Medication', 'Observation', 'Procedure', 'MedicationAdministration', 'Coverage', 'ClaimResponse', 'Claim', 'ServiceRequest', 'DeviceRequest', 'DocumentReference'] as const;

/** Every scope the authorization server knows (unknown requested scopes are dropped by oidc-provider). */
export const SUPPORTED_SCOPES = [
  'openid',
  'fhirUser',
  'launch',
  'launch/patient',
  'online_access',
  'patient/*.read',
  'patient/*.rs',
  'user/*.read',
  'user/*.rs',
  ...READ_TYPES.flatMap((t) => [`patient/${t}.read`, `patient/${t}.rs`, `patient/${t}.r`, `user/${t}.read`, `user/${t}.rs`]),
  'patient/DocumentReference.write',
  'patient/DocumentReference.c',
  'patient/DocumentReference.cu',
  'patient/DocumentReference.cruds',
];

/** What a request does to a resource type. */
export type Interaction = 'read' | 'search' | 'create';

/**
 * Whether granted scopes allow an interaction on a type.
 * @param scopes - granted scopes.
 * @param type - resource type.
 * @param interaction - read, search or create.
 * @returns true when allowed.
 */
export function scopeAllows(scopes: ReadonlySet<string>, type: string, interaction: Interaction): boolean {
  const v2 = interaction === 'read' ? 'r' : interaction === 'search' ? 's' : 'c';
  const v1 = interaction === 'create' ? 'write' : 'read';
  for (const scope of scopes) {
    const match = /^(patient|user)\/([A-Za-z*]+)\.([a-z]+)$/.exec(scope);
    if (!match || (match[2] !== '*' && match[2] !== type)) continue;
    const perms = match[3] ?? '';
    if (perms === v1 || perms === '*' || (/^c?r?u?d?s?$/.test(perms) && perms.includes(v2))) return true;
  }
  return false;
}
