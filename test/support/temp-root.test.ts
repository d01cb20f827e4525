import { tmpdir } from 'node:os';
import { basename, dirname } from 'node:path';
import { describe, expect, it } from 'vitest';

describe('temporary files of a test run', () => {
  it('go under the run\'s own directory, which the global setup removes at the end', () => {
    expect(basename(tmpdir())).toMatch(/^itcds-test-run-/);
    expect(dirname(tmpdir())).not.toMatch(/itcds-test-run-/);
  });
});
