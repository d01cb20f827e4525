/**
 * Vitest global setup: a real PostgreSQL server for the run, from Debian's `postgresql` package (`.ci/run` installs
 * it), in a cluster of its own on a free loopback port, removed when the run ends. Its URL reaches the test
 * processes as ITCDS_TEST_POSTGRES_URL; test/support/postgres.ts gives each test a database of its own. PostgreSQL
 * refuses to run as root, so as root the cluster belongs to the package's `postgres` user. Without the package
 * the variable holds why, and the tests that need the server fail saying so.
 */
import { execFileSync } from 'node:child_process';
import { chmodSync, existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
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
  run('initdb', ['-D', data, '-U', 'itcds', '--auth=trust', '-E', 'UTF8', '--no-sync']);
  run('pg_ctl', ['-D', data, '-l', join(dir, 'server.log'), '-w', '-o', `-p ${port} -k ${dir} -c listen_addresses=127.0.0.1`, 'start']);
  process.env['ITCDS_TEST_POSTGRES_URL'] = `postgres://itcds@127.0.0.1:${port}/postgres`;
  return () => {
    try {
      run('pg_ctl', ['-D', data, '-m', 'immediate', '-w', 'stop']);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  };
}
