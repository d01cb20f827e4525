/**
 * A TCP proxy on loopback that can stop passing bytes, as a network partition or a database that hangs does: while
 * held, what either side sends, on old connections and new ones, is kept (and counted) instead of delivered; on
 * release, everything kept is delivered in order. A stand-in for a fault the real server cannot be
 * made to have without stopping it for every other test of the run.
 */
import { createServer, connect } from 'node:net';
import type { AddressInfo, Socket } from 'node:net';

/** A running proxy. */
export interface TcpProxy {
  readonly port: number;
  /** Stops delivering bytes, both ways, on every connection, old and new. */
  hold(): void;
  /** Delivers what was kept, and everything after. */
  release(): void;
  /** Bytes clients sent while held: how often something tried to reach the server. */
  readonly heldFromClients: number;
  /** Connections accepted so far. */
  readonly connections: number;
  close(): Promise<void>;
}

/**
 * Starts a proxy to a server on loopback.
 * @param targetPort - the server's port.
 * @returns the proxy.
 */
export async function startTcpProxy(targetPort: number): Promise<TcpProxy> {
  let held = false;
  let heldFromClients = 0;
  let connections = 0;
  const waiting: (() => void)[] = [];
  const sockets = new Set<Socket>();
  // Sends a chunk now, or once released.
  const pass = (to: Socket, chunk: Buffer, fromClient: boolean): void => {
    if (!held) {
      to.write(chunk);
      return;
    }
    if (fromClient) heldFromClients += chunk.length;
    waiting.push(() => to.write(chunk));
  };
  const server = createServer((client) => {
    connections += 1;
    const upstream = connect(targetPort, '127.0.0.1');
    for (const s of [client, upstream]) {
      sockets.add(s);
      s.on('error', () => undefined);
      s.on('close', () => sockets.delete(s));
    }
    client.on('data', (chunk: Buffer) => pass(upstream, chunk, true));
    upstream.on('data', (chunk: Buffer) => pass(client, chunk, false));
    client.on('close', () => upstream.destroy());
    upstream.on('close', () => client.destroy());
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: (server.address() as AddressInfo).port,
    hold: () => {
      held = true;
    },
    release: () => {
      held = false;
      for (const send of waiting.splice(0)) send();
    },
    get heldFromClients() {
      return heldFromClients;
    },
    get connections() {
      return connections;
    },
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
}
