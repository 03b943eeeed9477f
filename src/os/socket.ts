// Listening sockets created as bare descriptors, so they can be bound as root and used after
// a privilege drop, handed to another process (fds 3..), or given to
// net.Server#listen({ fd }).
import { lstatSync } from 'node:fs';
import { native } from '../native/binding';
import { callNative, invalidType, invalidValue, SystemError } from '../errors';
import { validateBoolean, validateInteger, validateNonEmptyString, validateObject } from './validate';

/** Where listenTcp() listens. */
export interface TcpListenOptions {
  /** The port; 0 lets the kernel choose one (read it from the result). */
  port: number;
  /** Numeric IPv4 or IPv6 address (default '::', which also accepts IPv4 unless ipv6Only). */
  host?: string;
  /** listen(2) backlog (default 511, as Node's). */
  backlog?: number;
  /** For IPv6 hosts: IPV6_V6ONLY (default false). */
  ipv6Only?: boolean;
}

/** Where listenUnix() listens. */
export interface UnixListenOptions {
  /** Socket path, or '@name' for a Linux abstract socket. */
  path: string;
  /** Mode of the socket file, set between bind and listen (a path only). */
  mode?: number;
  /** listen(2) backlog (default 511, as Node's). */
  backlog?: number;
}

/** A listening TCP socket made by listenTcp(), with the address it is bound to. */
export interface TcpListener {
  /** The listening descriptor (close-on-exec), e.g. for `server.listen({ fd })`. */
  fd: number;
  /** The address family the socket was bound with. */
  family: 'IPv4' | 'IPv6';
  /** The bound address, as the kernel reports it. */
  address: string;
  /** The bound port: the chosen one when 0 was asked for. */
  port: number;
}

/** A listening Unix socket made by listenUnix(). */
export interface UnixListener {
  /** The listening descriptor (close-on-exec), e.g. for `server.listen({ fd })`. */
  fd: number;
  /** The path as given ('@name' for an abstract socket). */
  path: string;
}

function validateBacklog(value: unknown): number {
  return value === undefined ? 511 : validateInteger(value, 'options.backlog', 0, 2 ** 31 - 1);
}

/**
 * 4 or 6 for a numeric address, else 0: what net.isIP() answers, without its IPv6 regular
 * expression, whose first use costs ~6 ms (daemonize() checks the default '::' in both the
 * launcher and the daemon). IPv4 as inet_pton(3) reads it: four decimal parts without
 * leading zeros. IPv6 by Node's SocketAddress (libuv's inet_pton), given only the address:
 * libuv cuts a zone suffix off unchecked, so the zone is checked here, with isIP's grammar.
 */
export function ipFamily(host: string): 4 | 6 | 0 {
  if (!host.includes(':')) {
    const parts = host.split('.');
    return parts.length === 4 && parts.every((p) => /^(0|[1-9]\d{0,2})$/.test(p) && Number(p) <= 255) ? 4 : 0;
  }
  const zoneAt = host.indexOf('%');
  const address = zoneAt === -1 ? host : host.slice(0, zoneAt);
  if (zoneAt !== -1 && !/^[0-9A-Za-z.:-]+$/.test(host.slice(zoneAt + 1))) return 0;
  if (address.includes('\0')) return 0;
  try {
    // Loaded here, not at the top: node:net costs ~2 ms to load, which a launcher that
    // binds no IPv6 address (or none at all) never needs (bench/start.mjs).
    const { SocketAddress } = require('node:net') as typeof import('node:net');
    new SocketAddress({ address, family: 'ipv6' });
    return 6;
  } catch {
    return 0;
  }
}

/** Binds and listens on a TCP address with SO_REUSEADDR. The descriptor is close-on-exec. */
export function listenTcp(options: TcpListenOptions): TcpListener {
  validateObject(options, 'options');
  const port = validateInteger(options.port, 'options.port', 0, 65535);
  const host = options.host === undefined ? '::' : validateNonEmptyString(options.host, 'options.host');
  const family = ipFamily(host);
  if (family === 0) {
    throw invalidValue('options.host', host, 'must be a numeric IPv4 or IPv6 address such as 127.0.0.1 or ::1');
  }
  const backlog = validateBacklog(options.backlog);
  const v6only = options.ipv6Only === undefined ? false : validateBoolean(options.ipv6Only, 'options.ipv6Only');
  const shown = family === 6 ? `[${host}]:${port}` : `${host}:${port}`;
  // SO_REUSEADDR (socket(7)): a daemon restarted while connections of its previous instance
  // are still in TIME_WAIT binds its port again at once, instead of failing with EADDRINUSE
  // until TIME_WAIT ends (60 s on Linux). Node's own listen() sets it for the same reason.
  const reuseAddress = true;
  const fd = callNative(() => native.listenTcp(host, port, backlog, v6only, reuseAddress), {
    target: shown,
    props: { address: host, port },
  });
  const name = callNative(() => native.getsockname(fd));
  if (!('port' in name)) throw new SystemError(-22, 'getsockname', { target: shown });
  return { fd, family: name.family, address: name.address, port: name.port };
}

/** Binds and listens on a Unix stream socket. An existing file at `path` gives EADDRINUSE. */
export function listenUnix(options: UnixListenOptions): UnixListener {
  validateObject(options, 'options');
  const path = validateNonEmptyString(options.path, 'options.path');
  const abstract = path.startsWith('@');
  const backlog = validateBacklog(options.backlog);
  let mode: number | undefined;
  if (options.mode !== undefined) {
    if (abstract) throw invalidValue('options.mode', options.mode, 'does not apply to an abstract socket (no file)');
    mode = validateInteger(options.mode, 'options.mode', 0, 0o777);
  }
  if (abstract && !native.hasAbstractSockets) {
    throw invalidValue('options.path', path, `names an abstract socket, which ${process.platform} does not have`);
  }
  const fd = callNative(() => native.listenUnix(abstract ? path.slice(1) : path, abstract, backlog, mode ?? -1), { path });
  return { fd, path };
}

/**
 * Internal: what is at a Unix socket path. 'free': nothing. 'stale': a socket file nobody
 * listens on (connect(2) is refused), left by a process that died. 'live': a process accepts
 * or queues connections there. 'other': not a socket. Only 'stale' may be removed: a socket
 * that answers, or that cannot be proven dead, belongs to someone else.
 */
export function unixSocketState(path: string): 'free' | 'stale' | 'live' | 'other' {
  let st;
  try {
    st = lstatSync(path);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return 'free';
    throw err;
  }
  if (!st.isSocket()) return 'other';
  try {
    callNative(() => native.connectUnix(path, false), { path });
    return 'live';
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ECONNREFUSED') return 'stale';
    if (code === 'ENOENT') return 'free';
    return 'live';
  }
}

/** What {@link socketAddress} returns, by the socket's address family. */
export type SocketAddress =
  | {
      /** A TCP or UDP socket. */
      family: 'IPv4' | 'IPv6';
      /** The numeric address it is bound to. */
      address: string;
      /** The port it is bound to. */
      port: number;
    }
  | {
      /** A Unix domain socket. */
      family: 'unix';
      /** Its path, or its name for an abstract socket. */
      path: string;
      /** An abstract socket (Linux): a name outside the file system. */
      abstract: boolean;
    }
  | {
      /** Another address family, by its number. */
      family: number;
    };

/** The local address of a socket descriptor (getsockname(2)). */
export function socketAddress(fd: number): SocketAddress {
  if (typeof fd !== 'number') throw invalidType('fd', 'of type number', fd);
  return callNative(() => native.getsockname(fd));
}
