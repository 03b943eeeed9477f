// Listening sockets as descriptors serving real HTTP, and AF_UNIX datagrams arriving.
import { spawn } from 'node:child_process';
import { closeSync, statSync } from 'node:fs';
import { createServer, get, type Server } from 'node:http';
import { join } from 'node:path';
import { isIP } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { bindDatagram, listenTcp, listenUnix, receiveDatagram, sendDatagram, socketAddress } from '../src/index';
import { ipFamily } from '../src/socket';
import { useTmpDir, waitFor } from './helpers';

const tmp = useTmpDir();
const servers: Server[] = [];
afterEach(async () => {
  await Promise.all(servers.splice(0).map((s) => new Promise((r) => s.close(r))));
});

/** Serves one HTTP request on the descriptor and returns the body the client got. */
async function serveOne(fd: number, request: { host?: string; port?: number; socketPath?: string }) {
  const server = createServer((req, res) => res.end(`hello from fd ${fd} ${req.url}`));
  servers.push(server);
  await new Promise<void>((resolve) => server.listen({ fd }, resolve));
  return new Promise<string>((resolve, reject) => {
    get({ ...request, path: '/x', agent: false }, (res) => {
      let body = '';
      res.on('data', (d) => (body += d));
      res.on('end', () => resolve(body));
    }).on('error', reject);
  });
}

describe('listening sockets', () => {
  it('serves HTTP on 127.0.0.1 through listen({ fd })', async () => {
    const l = listenTcp({ host: '127.0.0.1', port: 0 });
    expect(l).toMatchObject({ family: 'IPv4', address: '127.0.0.1' });
    expect(l.port).toBeGreaterThan(0);
    expect(await serveOne(l.fd, { host: '127.0.0.1', port: l.port })).toBe(`hello from fd ${l.fd} /x`);
  });

  it('serves HTTP on [::1]', async () => {
    const l = listenTcp({ host: '::1', port: 0 });
    expect(l).toMatchObject({ family: 'IPv6', address: '::1' });
    expect(await serveOne(l.fd, { host: '::1', port: l.port })).toBe(`hello from fd ${l.fd} /x`);
  });

  it('serves HTTP on a Unix socket with the mode asked for', async () => {
    const path = join(tmp(), 'http.sock');
    const l = listenUnix({ path, mode: 0o660 });
    expect(statSync(path).isSocket()).toBe(true);
    expect(statSync(path).mode & 0o777).toBe(0o660);
    expect(await serveOne(l.fd, { socketPath: path })).toBe(`hello from fd ${l.fd} /x`);
  });

  it('reports a port in use as EADDRINUSE from bind, naming the address', () => {
    const first = listenTcp({ host: '127.0.0.1', port: 0 });
    try {
      expect(() => listenTcp({ host: '127.0.0.1', port: first.port })).toThrow(
        expect.objectContaining({
          code: 'EADDRINUSE',
          syscall: 'bind',
          address: '127.0.0.1',
          port: first.port,
          message: `EADDRINUSE: address already in use, bind '127.0.0.1:${first.port}'`,
        }),
      );
    } finally {
      closeSync(first.fd);
    }
  });

  it('reports an existing socket file as EADDRINUSE, naming the path', () => {
    const path = join(tmp(), 'taken.sock');
    const l = listenUnix({ path });
    try {
      expect(() => listenUnix({ path })).toThrow(expect.objectContaining({ code: 'EADDRINUSE', syscall: 'bind', path }));
    } finally {
      closeSync(l.fd);
    }
  });

  it('listens on an abstract name', () => {
    const name = `@daemonkit-test-${process.pid}`;
    const l = listenUnix({ path: name });
    try {
      expect(socketAddress(l.fd)).toEqual({ family: 'unix', path: name.slice(1), abstract: true });
    } finally {
      closeSync(l.fd);
    }
  });

  it('rejects a host that is not a numeric address, and bad ports', () => {
    expect(() => listenTcp({ host: 'localhost', port: 0 })).toThrow(/options\.host.*numeric IPv4 or IPv6/);
    expect(() => listenTcp({ port: 70000 })).toThrow(expect.objectContaining({ code: 'ERR_OUT_OF_RANGE', message: expect.stringContaining('options.port') }));
  });
});

describe('datagrams', () => {
  it('delivers a datagram to a socket path (received with the addon)', async () => {
    const path = join(tmp(), 'notify.sock');
    const fd = bindDatagram(path);
    try {
      expect(receiveDatagram(fd)).toBeNull();
      sendDatagram(path, 'READY=1\nSTATUS=up');
      const got = await waitFor('the datagram', () => receiveDatagram(fd) ?? undefined);
      expect(got.toString()).toBe('READY=1\nSTATUS=up');
    } finally {
      closeSync(fd);
    }
  });

  it('delivers a datagram to an abstract name (received by python3)', async () => {
    const name = `daemonkit-test-${process.pid}-${Date.now()}`;
    const receiver = spawn('python3', [
      '-c',
      `import socket,sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind("\\0${name}")
print("bound", flush=True)
s.settimeout(10)
sys.stdout.write(s.recv(4096).decode() + "\\n")`,
    ]);
    let out = '';
    receiver.stdout.on('data', (d) => (out += d));
    const exited = new Promise((r) => receiver.once('exit', r));
    try {
      await waitFor('python3 to bind', () => out.includes('bound'));
      sendDatagram(`@${name}`, 'WATCHDOG=1');
      await exited;
    } finally {
      receiver.kill('SIGKILL');
    }
    expect(out).toBe('bound\nWATCHDOG=1\n');
  });

  it('reports a missing receiver as ENOENT (path) or ECONNREFUSED (abstract), naming it', () => {
    const path = join(tmp(), 'nobody-here.sock');
    expect(() => sendDatagram(path, 'x')).toThrow(expect.objectContaining({ code: 'ENOENT', syscall: 'sendto', path }));
    expect(() => sendDatagram('@daemonkit-nobody-here', 'x')).toThrow(expect.objectContaining({ code: 'ECONNREFUSED', syscall: 'sendto' }));
  });
});

describe('ipFamily (host validation without net.isIP)', () => {
  it('answers as net.isIP for addresses, near-addresses and names', () => {
    const hosts = ['127.0.0.1', '0.0.0.0', '255.255.255.255', '256.1.1.1', '01.2.3.4', '1.2.3', '1.2.3.4.5', '1.2.3.-4', '0x7f.0.0.1', ' 1.2.3.4', '1.2.3.4 ',
      '::', '::1', '2001:db8::1', '::ffff:1.2.3.4', 'fe80::1%lo', '1::2::3', 'gggg::', '[::1]', ':::', '', 'localhost',
      // SocketAddress (libuv) alone would take the first five (it cuts a zone off unchecked and
      // stops at a NUL byte); the last two are the longest IPv4-suffixed forms
      'fe80::1%', '::1%a b', 'fe80::1%lo%', '::1\0junk', 'b940:0:0:0:0:9b40:280.120.44.140%',
      '7900:500:7400:8a00:e200:1a00:176.216.168.100%et', 'ffff:ffff:ffff:ffff:ffff:ffff:255.255.255.255'];
    expect(hosts.map((h) => [h, ipFamily(h)])).toEqual(hosts.map((h) => [h, isIP(h)]));
  });
});
