/**
 * REQUEST_TIMEOUT_MS over a real socket: a client that stalls mid-upload or mid-headers is answered 408 and
 * disconnected within about the configured time (not the 30 s Node's own checking interval would allow), and the
 * service keeps answering others.
 */
import { connect } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { call, fixtureRequest, startService } from '../support/harness.js';
import type { RunningService } from '../support/harness.js';

let svc: RunningService;
beforeAll(async () => {
  svc = await startService({ EMBEDDED_FHIR: 'false', REQUEST_TIMEOUT_MS: '1000' });
});
afterAll(() => svc.stop());

/** Writes `raw` and never more; resolves with what came back and when the server closed the connection. */
function stall(raw: string): Promise<{ text: string; ms: number }> {
  const url = new URL(svc.baseUrl);
  return new Promise((resolve, reject) => {
    const started = Date.now();
    let text = '';
    const socket = connect(Number(url.port), url.hostname, () => socket.write(raw));
    socket.setEncoding('utf8');
    socket.on('data', (chunk: string) => (text += chunk));
    socket.on('error', reject);
    socket.on('close', () => resolve({ text, ms: Date.now() - started }));
  });
}

const HEAD = 'POST /cds-services/intrathecal-order-sign HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\n';

describe('slow clients (REQUEST_TIMEOUT_MS=1000)', () => {
  it('a body that stops half way is answered 408 and the connection closed, within the timeout and one check', async () => {
    const { text, ms } = await stall(`${HEAD}Content-Length: 5000\r\n\r\n{"hook": "order-sign", `);
    expect(text).toMatch(/^HTTP\/1\.1 408 /);
    expect(ms).toBeGreaterThanOrEqual(900);
    expect(ms).toBeLessThan(4000);
  });

  it('headers that never end are answered 408 the same way', async () => {
    const { text, ms } = await stall('POST /cds-services/intrathecal-order-sign HTTP/1.1\r\nHost: localhost\r\nX-Slow: ');
    expect(text).toMatch(/^HTTP\/1\.1 408 /);
    expect(ms).toBeLessThan(4000);
  });

  it('others are served meanwhile, and a complete request is not cut short', async () => {
    const stalled = stall(`${HEAD}Content-Length: 5000\r\n\r\n{`);
    const body = fixtureRequest('seed-a.order-sign.json');
    delete body['fhirServer'];
    expect((await call(svc, 'POST', '/cds-services/intrathecal-order-sign', body)).status).toBe(200);
    expect((await stalled).text).toMatch(/^HTTP\/1\.1 408 /);
  });
});
