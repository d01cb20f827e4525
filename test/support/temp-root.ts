/**
 * Vitest global setup: every temporary file of a test run (stores, packs, client files, the services and browsers
 * the tests start) goes under one directory made for the run, removed when the run ends. Tests keep calling
 * `os.tmpdir()`; it reads TMPDIR, which the test processes and the children they spawn inherit from here.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/**
 * Points TMPDIR at a fresh directory for this run.
 * @returns the teardown, which removes the directory and everything in it.
 */
export default function setup(): () => void {
  const root = mkdtempSync(join(tmpdir(), 'itcds-test-run-'));
  process.env['TMPDIR'] = root;
  return () => rmSync(root, { recursive: true, force: true });
}
