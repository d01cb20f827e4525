/**
 * An outbound proxy from the environment, the way Node's fetch takes one (NODE_USE_ENV_PROXY=1 and HTTP_PROXY),
 * through a real forward proxy on loopback. Its own file: the agents read the environment when the module loads.
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, expect, it } from 'vitest';

const seen: { method: string; url: string; userAgent: string | undefined }[] = [];
const proxy = createServer((req, res) => {
  seen.push({ method: req.method ?? '', url: req.url ?? '', userAgent: req.headers['user-agent'] });
  res.end('{"resourceType":"Patient","id":"x"}');
});
await new Promise<void>((resolve) => proxy.listen(0, '127.0.0.1', resolve));
process.env['NODE_USE_ENV_PROXY'] = '1';
process.env['HTTP_PROXY'] = `http://127.0.0.1:${(proxy.address() as AddressInfo).port}`;
const { getText } = await import('./http-get.js');

afterAll(async () => {
  proxy.closeAllConnections();
  await new Promise<void>((resolve) => proxy.close(() => resolve()));
});

it('reads through the proxy the environment names, and says who it is', async () => {
  const text = await getText('http://fhir.example.invalid/R4/Patient/x', { headers: {}, deadline: new AbortController().signal, timeoutMs: 2000, maxBytes: 1024 });
  expect(text).toBe('{"resourceType":"Patient","id":"x"}');
  expect(seen).toEqual([{ method: 'GET', url: 'http://fhir.example.invalid/R4/Patient/x', userAgent: 'intrathecal-cds' }]);
});
