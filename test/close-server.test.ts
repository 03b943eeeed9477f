// closeServer() during a real shutdown, seen from the client's side of real sockets: every
// response that can still say so says "Connection: close", every response in flight is
// delivered whole, and the server ends each connection after its last response (a clean end
// of stream, never a reset). The daemon is test/fixtures/drain.mjs, stopped with SIGTERM.
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { connect, type Socket } from 'node:net';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { closeServer } from '../src/index';
import { freePort, useProcessControl, useTmpDir, waitFor, tryConnect } from './helpers';
import { launchFixture } from './launch';

const pc = useProcessControl();
const tmp = useTmpDir();
let n = 0;

// Well past what the kernel buffers on both ends of a loopback connection whose reader has
// stopped reading, so that most of the body is still queued in the server process.
const BIG = 64 * 1024 * 1024;

interface Drain {
  pid: number;
  port: number;
  releaseFile: string;
  log: () => string;
}

async function startDrain(config: Record<string, unknown> = {}): Promise<Drain> {
  const dir = join(tmp(), `drain-${++n}`);
  mkdirSync(dir);
  const port = freePort();
  const logFile = join(dir, 'drain.log');
  const releaseFile = join(dir, 'release');
  const daemon = { name: 'drain', pidFile: join(dir, 'drain.pid'), logFile, listen: [{ host: '127.0.0.1', port }] };
  const r = await launchFixture('drain.mjs', [JSON.stringify({ releaseFile, ...config, daemon })]);
  expect(r.stderr).toBe('');
  expect(r.code).toBe(0);
  pc.track(r.pid!);
  return { pid: r.pid!, port, releaseFile, log: () => readFileSync(logFile, 'utf8') };
}

/**
 * SIGTERM, then waits until closeServer() has run: the daemon logged the stop and its port
 * refuses connections (closeServer() stops accepting in the same call that sets up the drain).
 */
async function stopAndWaitForDrain(d: Drain): Promise<void> {
  process.kill(d.pid, 'SIGTERM');
  await waitFor('the stop in the log', () => d.log().includes('stopping (SIGTERM)'));
  await waitFor('the port to refuse connections', async () => (await tryConnect(d.port)) === 'ECONNREFUSED');
}

/** After the drain: exit 0, nothing forced, and the server's 'close' event exactly once. */
async function expectCleanExit(d: Drain): Promise<void> {
  expect(await pc.exitOf(d.pid)).toEqual({ code: 0, signal: null });
  const log = d.log();
  expect(log).toContain('forced 0\n');
  expect(log.match(/^server close event$/gm)).toHaveLength(1);
  expect(log).toMatch(/stopped in \d+ ms \(exit code 0\)\n$/);
}

/** A raw TCP connection to the server: the exact bytes it sent, and how the connection ended. */
class Client {
  readonly socket: Socket;
  private chunks: Buffer[] = [];
  private events: string[] = [];
  /** On 'close': ['end'] for a clean end of stream (FIN); error codes (ECONNRESET) otherwise. */
  readonly closed: Promise<string[]>;

  constructor(port: number) {
    this.socket = connect({ host: '127.0.0.1', port });
    this.socket.on('data', (d: Buffer) => this.chunks.push(d));
    this.socket.on('end', () => this.events.push('end'));
    this.socket.on('error', (e: NodeJS.ErrnoException) => this.events.push(e.code ?? e.message));
    this.closed = new Promise((resolve) => this.socket.on('close', () => resolve(this.events)));
  }

  send(text: string): Promise<void> {
    return new Promise((resolve, reject) => this.socket.write(text, (err) => (err ? reject(err) : resolve())));
  }

  data(): Buffer {
    if (this.chunks.length > 1) this.chunks = [Buffer.concat(this.chunks)];
    return this.chunks[0] ?? Buffer.alloc(0);
  }

  responses(): Parsed {
    return parseResponses(this.data());
  }
}

interface Response {
  status: number;
  headers: Record<string, string>;
  body: Buffer;
}

interface Parsed {
  responses: Response[];
  /** Bytes after the last complete response: a truncated one. */
  rest: number;
}

/** HTTP/1.1 responses back to back, bodies framed by Content-Length or chunked encoding. */
function parseResponses(buf: Buffer): Parsed {
  const responses: Response[] = [];
  let at = 0;
  for (;;) {
    const headEnd = buf.indexOf('\r\n\r\n', at);
    if (headEnd < 0) break;
    const [statusLine, ...lines] = buf.subarray(at, headEnd).toString('latin1').split('\r\n');
    const headers: Record<string, string> = {};
    for (const line of lines) {
      const i = line.indexOf(':');
      headers[line.slice(0, i).toLowerCase()] = line.slice(i + 1).trim();
    }
    let p = headEnd + 4;
    let body: Buffer;
    if (headers['content-length'] !== undefined) {
      const len = Number(headers['content-length']);
      if (buf.length < p + len) break;
      body = buf.subarray(p, p + len);
      p += len;
    } else if (headers['transfer-encoding'] === 'chunked') {
      const parts: Buffer[] = [];
      let done = false;
      for (;;) {
        const lineEnd = buf.indexOf('\r\n', p);
        if (lineEnd < 0) break;
        const size = parseInt(buf.subarray(p, lineEnd).toString('latin1'), 16);
        if (size === 0) {
          if (buf.length < lineEnd + 4) break; // the empty line after the last chunk
          p = lineEnd + 4;
          done = true;
          break;
        }
        if (buf.length < lineEnd + 2 + size + 2) break;
        parts.push(buf.subarray(lineEnd + 2, lineEnd + 2 + size));
        p = lineEnd + 2 + size + 2;
      }
      if (!done) break;
      body = Buffer.concat(parts);
    } else {
      break;
    }
    responses.push({ status: Number(statusLine.split(' ')[1]), headers, body });
    at = p;
  }
  return { responses, rest: buf.length - at };
}

const unflushed = (log: string) => [...log.matchAll(/^unflushed (\d+)$/gm)].map((m) => Number(m[1]));

describe('closeServer() in a shutdown, seen by the client', () => {
  it('a request in flight at SIGTERM (headers not sent yet) gets Connection: close and its whole body, then a clean end', async () => {
    const d = await startDrain();
    const client = new Client(d.port);
    await client.send('GET /held HTTP/1.1\r\nHost: t\r\n\r\n'); // HTTP/1.1: keep-alive unless told
    await waitFor('the request to be held', () => d.log().includes('held\n'));
    await stopAndWaitForDrain(d);
    expect(client.data().length).toBe(0); // nothing answered before the drain started
    writeFileSync(d.releaseFile, '');

    expect(await client.closed).toEqual(['end']);
    const { responses, rest } = client.responses();
    expect(responses).toHaveLength(1);
    expect(responses[0].status).toBe(200);
    expect(responses[0].headers.connection).toBe('close');
    expect(responses[0].body.toString()).toBe('held done\n');
    expect(rest, 'bytes after the last complete response (a truncated one)').toBe(0);
    await expectCleanExit(d);
  });

  it('a response end()ed before SIGTERM, still queued for a client that stopped reading, is delivered whole', async () => {
    const d = await startDrain({ bigBytes: BIG });
    const client = new Client(d.port);
    client.socket.pause();
    await client.send('GET /big HTTP/1.1\r\nHost: t\r\n\r\n');
    await waitFor('the body to be end()ed', () => d.log().includes('big ended\n'));
    await stopAndWaitForDrain(d);
    // The case under test: when the drain started, most of the body was still in the server.
    expect(unflushed(d.log())).toHaveLength(1);
    expect(unflushed(d.log())[0]).toBeGreaterThan(BIG / 2);
    client.socket.resume();

    expect(await client.closed).toEqual(['end']);
    const { responses, rest } = client.responses();
    expect(rest, 'bytes after the last complete response (a truncated one)').toBe(0);
    expect(responses).toHaveLength(1);
    expect(responses[0].status).toBe(200);
    expect(responses[0].headers['content-length']).toBe(String(BIG));
    expect(responses[0].body.length).toBe(BIG);
    // Sent before the shutdown, so it could not say close: the server ends the connection.
    expect(responses[0].headers.connection).toBe('keep-alive');
    await expectCleanExit(d);
  });

  it('a streamed keep-alive response (headers sent before SIGTERM) is completed, then the server ends the connection', async () => {
    const d = await startDrain({ bigBytes: BIG });
    const client = new Client(d.port);
    await client.send('GET /stream HTTP/1.1\r\nHost: t\r\n\r\n');
    await waitFor('the headers and the first chunk', () => client.data().includes('first\n'));
    const head = client.data().toString('latin1');
    expect(head).toMatch(/\r\nConnection: keep-alive\r\n/);
    expect(head).toMatch(/\r\nTransfer-Encoding: chunked\r\n/);
    client.socket.pause();
    // A shutdown hook that runs before closeServer() ends the stream with a large last chunk.
    await stopAndWaitForDrain(d);
    expect(unflushed(d.log())).toHaveLength(1);
    expect(unflushed(d.log())[0]).toBeGreaterThan(BIG / 2);
    client.socket.resume();

    expect(await client.closed).toEqual(['end']);
    const { responses, rest } = client.responses();
    expect(rest, 'bytes after the last complete response (a truncated one)').toBe(0);
    expect(responses).toHaveLength(1);
    expect(responses[0].headers.connection).toBe('keep-alive');
    expect(responses[0].body.length).toBe('first\n'.length + BIG);
    expect(responses[0].body.subarray(0, 6).toString()).toBe('first\n');
    expect(responses[0].body.subarray(6).equals(Buffer.alloc(BIG, 's'))).toBe(true);
    await expectCleanExit(d);
  });

  it('a request that arrives during the drain on a kept-alive connection gets Connection: close', async () => {
    const d = await startDrain();
    const client = new Client(d.port);
    // The first request, and the start of the next one in the same write: the server has
    // begun reading the second (the connection is not idle) before it answers the first.
    await client.send('GET / HTTP/1.1\r\nHost: t\r\n\r\nGET /after HTTP/1.1\r\nHost: t\r\n');
    await waitFor('the first response', () => client.responses().responses.length === 1);
    expect(client.responses().responses[0].headers.connection).toBe('keep-alive');
    await stopAndWaitForDrain(d);
    await client.send('\r\n'); // the second request's headers are complete only now

    expect(await client.closed).toEqual(['end']);
    const { responses, rest } = client.responses();
    expect(rest, 'bytes after the last complete response (a truncated one)').toBe(0);
    expect(responses.map((r) => [r.status, r.headers.connection, r.body.toString()])).toEqual([
      [200, 'keep-alive', 'hello\n'],
      [200, 'close', 'hello\n'],
    ]);
    await expectCleanExit(d);
  });

  it('a request sent on an idle kept-alive connection, not yet read when the drain begins, is answered, not reset', async () => {
    const d = await startDrain();
    const idle = new Client(d.port);
    await idle.send('GET / HTTP/1.1\r\nHost: t\r\n\r\n');
    await waitFor('the first response', () => idle.responses().responses.length === 1);
    // Hold the server's event loop while the idle connection's next request arrives: it
    // waits unread in the kernel. The held request then starts the shutdown before the loop
    // reads anything else: the drain begins with that connection idle in Node's eyes.
    const blocker = new Client(d.port);
    await blocker.send('GET /block-then-stop HTTP/1.1\r\nHost: t\r\n\r\n');
    await waitFor('the event loop to be held', () => d.log().includes('blocking\n'));
    await idle.send('GET / HTTP/1.1\r\nHost: t\r\n\r\n');
    writeFileSync(`${d.releaseFile}-block`, '');

    expect(await idle.closed).toEqual(['end']);
    const { responses, rest } = idle.responses();
    expect(rest).toBe(0);
    expect(responses.map((r) => [r.status, r.headers.connection, r.body.toString()])).toEqual([
      [200, 'keep-alive', 'hello\n'],
      [200, 'close', 'hello\n'],
    ]);
    expect(await blocker.closed).toEqual(['end']);
    expect(blocker.responses().responses.map((r) => r.body.toString())).toEqual(['block done\n']);
    expect(await pc.exitOf(d.pid)).toEqual({ code: 0, signal: null });
    expect(d.log()).toMatch(/stopping \(GET \/block-then-stop\)\n[\s\S]*forced 0\n/);
  });

  it('pipelined requests in flight at SIGTERM: all answered in order, the first one not saying close', async () => {
    const d = await startDrain();
    const client = new Client(d.port);
    // One write: the server reads both requests at once; the second one's answer is queued
    // behind the held first one, already written (keep-alive) before the shutdown.
    await client.send('GET /held HTTP/1.1\r\nHost: t\r\n\r\nGET / HTTP/1.1\r\nHost: t\r\n\r\n');
    await waitFor('the first request to be held', () => d.log().includes('held\n'));
    await stopAndWaitForDrain(d);
    writeFileSync(d.releaseFile, '');

    expect(await client.closed).toEqual(['end']);
    const { responses, rest } = client.responses();
    expect(rest, 'bytes after the last complete response (a truncated one)').toBe(0);
    // "close" on the first would make Node drop the second, already answered by the program.
    expect(responses.map((r) => [r.status, r.headers.connection, r.body.toString()])).toEqual([
      [200, 'keep-alive', 'held done\n'],
      [200, 'keep-alive', 'hello\n'],
    ]);
    await expectCleanExit(d);
  });

  it('pipelined requests in flight at SIGTERM: the last one, answered after the first, says close', async () => {
    const d = await startDrain();
    const client = new Client(d.port);
    await client.send('GET /held HTTP/1.1\r\nHost: t\r\n\r\nGET /held-too HTTP/1.1\r\nHost: t\r\n\r\n');
    await waitFor('both requests to be held', () => d.log().includes('held\nheld too\n'));
    await stopAndWaitForDrain(d);
    writeFileSync(d.releaseFile, '');
    await waitFor('the first response', () => client.responses().responses.length === 1);
    writeFileSync(`${d.releaseFile}-too`, '');

    expect(await client.closed).toEqual(['end']);
    const { responses, rest } = client.responses();
    expect(rest, 'bytes after the last complete response (a truncated one)').toBe(0);
    expect(responses.map((r) => [r.status, r.headers.connection, r.body.toString()])).toEqual([
      [200, 'keep-alive', 'held done\n'],
      [200, 'close', 'held too done\n'],
    ]);
    await expectCleanExit(d);
  });
});

describe('closeServer() in this process', () => {
  function serve(handler: (req: IncomingMessage, res: ServerResponse) => void) {
    const server = createServer(handler);
    return new Promise<{ server: typeof server; port: number }>((resolve) =>
      server.listen(0, '127.0.0.1', () => resolve({ server, port: (server.address() as { port: number }).port })),
    );
  }

  it("emits the server's 'close' event once, after the response in flight, and resolves 0", async () => {
    let release!: () => void;
    const released = new Promise<void>((r) => (release = r));
    let arrived = false;
    const { server, port } = await serve((_req, res) => {
      arrived = true;
      void released.then(() => res.end('late\n'));
    });
    const events: string[] = [];
    server.on('close', () => events.push('close'));
    const client = new Client(port);
    await client.send('GET / HTTP/1.1\r\nHost: t\r\n\r\n');
    await waitFor('the request', () => arrived);
    const closing = closeServer(server, { timeout: 10_000 }).then((forced) => events.push(`resolved ${forced}`));
    await waitFor('the port to refuse connections', async () => (await tryConnect(port)) === 'ECONNREFUSED');
    expect(events).toEqual([]);
    release();
    expect(await client.closed).toEqual(['end']);
    await closing;
    await new Promise((r) => setImmediate(r));
    expect(events).toEqual(['close', 'resolved 0']);
    expect(client.responses().responses.map((r) => [r.headers.connection, r.body.toString()])).toEqual([['close', 'late\n']]);
  });

  it("without Node's connection list (another runtime), it still drains as server.close() does", async () => {
    let release!: () => void;
    const released = new Promise<void>((r) => (release = r));
    let arrived = false;
    const { server, port } = await serve((_req, res) => {
      arrived = true;
      void released.then(() => res.end('late\n'));
    });
    // What closeServer() looks for is an own symbol property: hide those from it.
    const hidden = new Proxy(server, {
      ownKeys: (target) => Reflect.ownKeys(target).filter((k) => typeof k !== 'symbol' || !k.description?.startsWith('http.server.')),
    });
    expect(Object.getOwnPropertySymbols(hidden).map((s) => s.description)).not.toContain('http.server.connections');
    const client = new Client(port);
    await client.send('GET / HTTP/1.1\r\nHost: t\r\n\r\n');
    await waitFor('the request', () => arrived);
    const closing = closeServer(hidden, { timeout: 10_000 });
    await waitFor('the port to refuse connections', async () => (await tryConnect(port)) === 'ECONNREFUSED');
    release();
    expect(await closing).toBe(0);
    expect(await client.closed).toEqual(['end']);
    expect(client.responses().responses.map((r) => r.body.toString())).toEqual(['late\n']);
  });

  it('a server that never listened: resolves 0', async () => {
    expect(await closeServer(createServer(), { timeout: 10_000 })).toBe(0);
  });
});
