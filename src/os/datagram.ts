// AF_UNIX datagrams: the transport of sd_notify(3). Addresses are socket paths, or '@name'
// for Linux abstract sockets, as in NOTIFY_SOCKET.
import { native } from '../native/binding';
import { callNative, callNativeOr, invalidType, invalidValue } from '../errors';
import { validateFd, validateNonEmptyString } from './validate';

function parse(address: unknown, name: string): [string, boolean] {
  validateNonEmptyString(address, name);
  const a = address as string;
  if (!a.startsWith('@')) return [a, false];
  if (!native.hasAbstractSockets) {
    throw invalidValue(name, a, `names an abstract socket, which ${process.platform} does not have`);
  }
  return [a.slice(1), true];
}

/** Sends one datagram to `address` from a fresh unbound socket. */
export function sendDatagram(address: string, data: string | Uint8Array): void {
  const [name, abstract] = parse(address, 'address');
  let buffer: Buffer;
  if (typeof data === 'string') buffer = Buffer.from(data);
  else if (data instanceof Uint8Array) buffer = Buffer.from(data.buffer, data.byteOffset, data.byteLength);
  else throw invalidType('data', 'a string or a Uint8Array', data);
  callNative(() => native.sendDatagram(name, abstract, buffer), { path: address });
}

/**
 * Binds a non-blocking datagram receiver at `address` and returns its descriptor (close it
 * with fs.closeSync; a path socket's file stays until unlinked).
 */
export function bindDatagram(address: string): number {
  const [name, abstract] = parse(address, 'address');
  return callNative(() => native.bindDatagram(name, abstract), { path: address });
}

// recv(2), ERRORS: "EAGAIN or EWOULDBLOCK The socket is marked nonblocking and the receive
// operation would block": nothing is waiting, which is an answer (null), not a failure.
const NOTHING_WAITING = ['EAGAIN', 'EWOULDBLOCK'] as const;

/** The next waiting datagram, or null when there is none. Never blocks. */
export function receiveDatagram(fd: number): Buffer | null {
  return receiveDatagramFrom(fd)?.data ?? null;
}

/**
 * The next waiting datagram with its sender's pid, as the kernel saw it (Linux; null
 * elsewhere), or null when there is none. Never blocks.
 */
export function receiveDatagramFrom(fd: number): { data: Buffer; pid: number | null } | null {
  validateFd(fd, 'fd');
  const got = callNativeOr(() => native.recvDatagram(fd), NOTHING_WAITING, null);
  return got === null ? null : { data: got.data, pid: got.pid > 0 ? got.pid : null };
}
