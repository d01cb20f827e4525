/**
 * `npm run bench:jwt`: the cost of verifying one client JWT, in process, for the algorithms clients use: the
 * service's own path (`verifyClientJwt`: jose on WebCrypto, claims, replay store), jose's `jwtVerify` alone, and the
 * bare signature check of `node:crypto`, so the report can say whether the curve, the library or the rest is the
 * cost. Bounded: a fixed number of fresh tokens per algorithm. Writes its table between markers in docs/benchmarks.md.
 */
import { createPublicKey, verify } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { join } from 'node:path';
import { jwtVerify } from 'jose';
import { loadTrustedClients } from '../src/security/clients.js';
import { verifyClientJwt } from '../src/security/verify-jwt.js';
import { openDatabase } from '../src/store/database.js';
import { replayStore } from '../src/store/replay-store.js';
import { makeKey, signToken } from '../test/support/jwt.js';
import { writeSection } from './bench/report.js';

const TOKENS = Number(process.env['BENCH_JWT_TOKENS'] ?? '1000');
const ISS = 'https://bench-ehr.example';
const AUD = 'http://127.0.0.1/cds-services/intrathecal-order-sign';

async function perToken(tokens: readonly string[], check: (token: string) => unknown): Promise<number> {
  for (const t of tokens.slice(0, 50)) await check(t);
  const start = process.hrtime.bigint();
  for (const t of tokens.slice(50)) await check(t);
  return Number(process.hrtime.bigint() - start) / 1e3 / (tokens.length - 50);
}

async function main(): Promise<void> {
  const dir = mkdtempSync(join(os.tmpdir(), 'itcds-bench-jwt-'));
  const rows: string[] = [];
  for (const alg of ['ES384', 'ES256', 'RS384']) {
    const key = await makeKey(alg);
    const clientsFile = join(dir, `clients-${alg}.json`);
    writeFileSync(clientsFile, JSON.stringify([{ iss: ISS, jwks: { keys: [key.publicJwk] }, fhirServers: [], algorithms: [alg] }]));
    const clients = loadTrustedClients(clientsFile, { production: false, trustSandbox: false });
    const replay = replayStore(openDatabase(join(dir, `replay-${alg}.sqlite`), 'NORMAL'));
    const tokens: string[] = [];
    for (let i = 0; i < TOKENS + 50; i++) tokens.push(await signToken(key, { iss: ISS, aud: AUD }));
    const now = Math.floor(Date.now() / 1000);
    const service = await perToken(tokens, (t) => verifyClientJwt(t, { clients, replay, audience: AUD, clockSkewS: 60, maxAgeS: 300, now }));
    const publicKey = createPublicKey({ key: key.publicJwk, format: 'jwk' });
    const jose = await perToken(tokens, (t) => jwtVerify(t, publicKey, { issuer: ISS, audience: AUD }));
    const hash = `sha${alg.slice(2)}`;
    const bare = await perToken(tokens, (t) => {
      const [h, p, s] = t.split('.');
      const ok = verify(hash, Buffer.from(`${h ?? ''}.${p ?? ''}`), alg.startsWith('ES') ? { key: publicKey, dsaEncoding: 'ieee-p1363' } : publicKey, Buffer.from(s ?? '', 'base64url'));
      if (!ok) throw new Error('signature did not verify');
    });
    rows.push(`| ${alg} | ${(service / 1000).toFixed(3)} | ${(jose / 1000).toFixed(3)} | ${(bare / 1000).toFixed(3)} |`);
    process.stdout.write(`${rows.at(-1) ?? ''}\n`);
  }
  writeSection('jwt', [
    '## Client JWT verification, in process (`npm run bench:jwt`)',
    '',
    `Run ${new Date().toISOString().slice(0, 10)} on ${os.cpus().length} x ${os.cpus()[0]?.model ?? 'CPU'}, Node ${process.version}, OpenSSL ${process.versions.openssl}; ${TOKENS} fresh tokens per algorithm after 50 warm-up ones. Times in ms per token.`,
    '',
    "| algorithm | the service's check (jose, claims, replay store) | jose's jwtVerify alone | signature alone (node:crypto verify) |",
    '|---|---:|---:|---:|',
    ...rows,
  ]);
  rmSync(dir, { recursive: true, force: true });
}

await main();
