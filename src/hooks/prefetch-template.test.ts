import { describe, expect, it } from 'vitest';
import { fillTemplate, parseTemplate } from './prefetch-template.js';

const context = { userId: 'Practitioner/prac 1', patientId: 'pat/1&x=2', encounterId: 'enc-9' };

describe('prefetch templates', () => {
  it('tells a read from a search and names the resource type', () => {
    expect(parseTemplate('Patient/{{context.patientId}}', 'order-sign')).toMatchObject({ kind: 'read', resourceType: 'Patient' });
    expect(parseTemplate('Condition?patient={{context.patientId}}', 'order-sign')).toMatchObject({ kind: 'search', resourceType: 'Condition' });
  });

  it('fills context tokens, URL-encoding their values', () => {
    const parsed = parseTemplate('Encounter?_id={{context.encounterId}}&patient={{context.patientId}}', 'patient-view');
    expect(fillTemplate(parsed, context)).toBe('Encounter?_id=enc-9&patient=pat%2F1%26x%3D2');
  });

  it('derives userPractitionerId and its siblings from userId', () => {
    expect(fillTemplate(parseTemplate('Practitioner/{{userPractitionerId}}', 'order-sign'), context)).toBe('Practitioner/prac%201');
    expect(fillTemplate(parseTemplate('PractitionerRole/{{userPractitionerRoleId}}', 'order-sign'), context)).toBeUndefined();
    expect(fillTemplate(parseTemplate('Patient/{{userPatientId}}', 'order-sign'), { ...context, userId: 'Patient/p7' })).toBe('Patient/p7');
    expect(fillTemplate(parseTemplate('RelatedPerson/{{userRelatedPersonId}}', 'order-sign'), { ...context, userId: 'RelatedPerson/r2' })).toBe('RelatedPerson/r2');
  });

  it('says a query cannot be formed when a token has no value in the request', () => {
    const parsed = parseTemplate('Encounter/{{context.encounterId}}', 'order-sign');
    expect(fillTemplate(parsed, { userId: 'Practitioner/1', patientId: 'p' })).toBeUndefined();
  });

  it.each([
    ['Condition?patient={{context.draftOrders}}', 'not allowed'],
    ['Condition?patient={{context.selections}}', 'not allowed'],
    ['Condition?patient={{patientId}}', 'not allowed'],
    ['Coverage?patient={{context.patientId}}&status=active}}', 'unbalanced'],
    ['condition?patient={{context.patientId}}', 'resource type'],
  ])('refuses %s', (template, message) => {
    expect(() => parseTemplate(template, 'order-select')).toThrow(message);
  });
});
