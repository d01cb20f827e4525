/**
 * The scopes the SMART app asks for (SMART App Launch 2 syntax): read access to the record types it evaluates,
 * create for the summary DocumentReference, the EHR launch context, and the user's identity.
 */
export const SMART_APP_SCOPES = [
  'launch',
  'openid',
  'fhirUser',
  ...['Patient', 'Condition', 'Device', 'MedicationRequest', 'Medication', 'Observation', 'Procedure', 'MedicationAdministration', 'Coverage', 'ClaimResponse', 'Claim', 'ServiceRequest', 'DeviceRequest'].map((t) => `patient/${t}.rs`),
  'patient/DocumentReference.c',
].join(' ');
