/**
 * The worker that reads the FHIR resource definitions fails mid-way: indexing in steps rejects with a reason (main
 * then stops the service), and a synchronous caller can still index everything itself.
 *
 * Test double: `node:worker_threads` is replaced by a fake Worker, because a real worker cannot be made to die
 * half-way through reading an intact definitions package. Own file: the mock, and the definitions are process-wide.
 */
import { EventEmitter } from 'node:events';
import { tryGetDataType } from '@medplum/core';
import { beforeEach, describe, expect, it, vi } from 'vitest';

/** What the fake worker does once it is listened to: hand over some batches, then fail in the given way. */
const script: { batches: string[]; end: 'exit' | 'error' } = { batches: [], end: 'exit' };

vi.mock('node:worker_threads', () => ({
  Worker: class extends EventEmitter {
    constructor() {
      super();
      setTimeout(() => {
        for (const batch of script.batches) this.emit('message', batch);
        if (script.end === 'error') this.emit('error', new Error('worker ran out of memory'));
        else this.emit('exit', 1);
      }, 5);
    }
    terminate(): Promise<number> {
      return Promise.resolve(1);
    }
  },
}));

describe('the definitions worker failing mid-way', () => {
  beforeEach(() => {
    vi.resetModules();
  });

  it('rejects when the worker exits before handing over every definition', async () => {
    script.batches = [JSON.stringify([])];
    script.end = 'exit';
    const { indexFhirDefinitionsInSteps } = await import('./definitions.js');
    await expect(indexFhirDefinitionsInSteps()).rejects.toThrow(/stopped before it had read them all/);
    // The resource definitions never arrived; the data types (read on this thread) did.
    expect(tryGetDataType('Condition')).toBeUndefined();
    expect(tryGetDataType('CodeableConcept')).toBeDefined();
  });

  it('rejects with the worker’s error, and a synchronous caller can still index everything', async () => {
    script.batches = [];
    script.end = 'error';
    const { ensureFhirDefinitions, indexFhirDefinitionsInSteps } = await import('./definitions.js');
    await expect(indexFhirDefinitionsInSteps()).rejects.toThrow('worker ran out of memory');
    ensureFhirDefinitions();
    expect(tryGetDataType('Condition')?.elements['subject']).toBeDefined();
  });
});
