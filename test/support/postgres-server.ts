/**
 * Vitest global setup: a real PostgreSQL server for the run, from Debian's `postgresql` package (`.ci/run` installs
 * it), in a cluster of its own on a free loopback port, removed when the run ends. Its URL reaches the test
 * processes as ITCDS_TEST_POSTGRES_URL; test/support/postgres.ts gives each test a database of its own. The server
 * also takes TLS, with a certificate for 127.0.0.1 from a CA made for the run (openssl, which Debian's `postgresql`
 * brings), whose certificate's path is ITCDS_TEST_POSTGRES_CA; plain connections are accepted as well, and a Unix socket in
 * the directory ITCDS_TEST_POSTGRES_SOCKET_DIR. PostgreSQL
 * refuses to run as root, so as root the cluster belongs to the package's `postgres` user. Without the package
 * the variable holds why, and the tests that need the server fail saying so.
 */
import { execFileSync } from 'node:child_process';
import { chmodSync, existsSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';

/** Where Debian puts the server's programs: /usr/lib/postgresql/<major>/bin (the newest major wins). */
function serverBin(): string | undefined {
  const root = '/usr/lib/postgresql';
  if (!existsSync(root)) return undefined;
  const majors = readdirSync(root).filter((d) => existsSync(join(root, d, 'bin', 'initdb'))).sort((a, b) => Number(b) - Number(a));
  return majors[0] === undefined ? undefined : join(root, majors[0], 'bin');
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => (typeof address === 'object' && address ? resolve(address.port) : reject(new Error('no port'))));
    });
  });
}

/**
 * A CA and, signed by it, the server's certificate for 127.0.0.1 and its key (the key readable by the server only).
 * @param dir - the cluster's directory.
 * @param asRoot - whether the server runs as the `postgres` user.
 * @returns the paths of the CA's certificate, the server's certificate and its key.
 */
function makeCertificates(dir: string, asRoot: boolean): { ca: string; cert: string; key: string } {
  const [ca, caKey, cert, key, request, extensions] = ['ca.pem', 'ca.key', 'server.crt', 'server.key', 'server.csr', 'san.cnf'].map((f) => join(dir, f)) as [string, string, string, string, string, string];
  const openssl = (args: string[]): void => {
    execFileSync('openssl', args, { stdio: ['ignore', 'ignore', 'pipe'] });
  };
  const ec = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];
  openssl(['req', '-x509', ...ec, '-keyout', caKey, '-out', ca, '-days', '2', '-subj', '/CN=intrathecal-cds test CA']);
  openssl(['req', ...ec, '-keyout', key, '-out', request, '-subj', '/CN=127.0.0.1']);
  writeFileSync(extensions, 'subjectAltName=IP:127.0.0.1\n');
  openssl(['x509', '-req', '-in', request, '-CA', ca, '-CAkey', caKey, '-CAcreateserial', '-out', cert, '-days', '2', '-extfile', extensions]);
  chmodSync(key, 0o600);
  chmodSync(ca, 0o644);
  if (asRoot) execFileSync('chown', ['postgres:postgres', key, cert]);
  return { ca, cert, key };
}

/**
 * Starts the cluster.
 * @returns the teardown, which stops the server and removes its files.
 */
export default async function setup(): Promise<() => void> {
  const bin = serverBin();
  if (!bin) {
    process.env['ITCDS_TEST_POSTGRES_URL'] = 'unavailable: PostgreSQL is not installed (apt-get install -y postgresql)';
    return () => undefined;
  }
  // Under /tmp, not the run's TMPDIR: that one is its owner's alone, and the server may run as another user.
  const dir = mkdtempSync('/tmp/itcds-postgres-');
  const data = join(dir, 'data');
  const asRoot = process.getuid?.() === 0;
  const run = (program: string, args: string[]): void => {
    const [command, argv] = asRoot ? ['runuser', ['-u', 'postgres', '--', join(bin, program), ...args]] : [join(bin, program), args];
    execFileSync(command, argv, { stdio: ['ignore', 'ignore', 'pipe'] });
  };
  if (asRoot) {
    execFileSync('chown', ['postgres:postgres', dir]);
    chmodSync(dir, 0o700);
  }
  const port = await freePort();
  const tls = makeCertificates(dir, asRoot);
  run('initdb', ['-D', data, '-U', 'itcds', '--auth=trust', '-E', 'UTF8', '--no-sync']);
  run('pg_ctl', ['-D', data, '-l', join(dir, 'server.log'), '-w', '-o', `-p ${port} -k ${dir} -c listen_addresses=127.0.0.1 -c ssl=on -c ssl_cert_file=${tls.cert} -c ssl_key_file=${tls.key}`, 'start']);
  process.env['ITCDS_TEST_POSTGRES_URL'] = `postgres://itcds@127.0.0.1:${port}/postgres`;
  process.env['ITCDS_TEST_POSTGRES_CA'] = tls.ca;
  process.env['ITCDS_TEST_POSTGRES_SOCKET_DIR'] = dir;
  return () => {
    try {
      run('pg_ctl', ['-D', data, '-m', 'immediate', '-w', 'stop']);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  };
}
