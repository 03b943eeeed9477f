// daemonkit unit: the systemd unit printed for a service, read back setting by setting and
// its ExecStart= word by word as systemd reads it (systemd.syntax(7), "Quoting";
// systemd.service(5), "Command lines"), checked by systemd-analyze verify; and bad input,
// refused as start refuses it.
import { spawnSync } from 'node:child_process';
import { accessSync, constants, mkdirSync, writeFileSync } from 'node:fs';
import { delimiter, join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { systemdUnit } from '../src/index';
import { root, useTmpDir } from './helpers';

const tmp = useTmpDir();
const cliPath = join(root, 'dist', 'cli.js');
const node = process.execPath;
let n = 0;

function unit(...args: string[]): { code: number | null; stdout: string; stderr: string } {
  // `--` as the shebang has it: Node would otherwise take --env-file for itself.
  // Typed in /: the unit's WorkingDirectory= is where the command was typed.
  const r = spawnSync(node, ['--', cliPath, 'unit', ...args], { encoding: 'utf8', cwd: '/' });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** The unit's text, for a command expected to succeed. */
function unitText(...args: string[]): string {
  const r = unit(...args);
  expect([r.code, r.stderr]).toEqual([0, '']);
  return r.stdout;
}

/** Every Key=Value of the unit (comments and section headers left out), in order. */
function settings(text: string): [string, string][] {
  return text
    .split('\n')
    .filter((l) => l.includes('=') && !l.startsWith('#'))
    .map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1)]);
}
const values = (text: string, key: string) => settings(text).filter(([k]) => k === key).map(([, v]) => v);
const value = (text: string, key: string) => values(text, key)[0];

/**
 * A command line as systemd reads it: specifiers (only %% is expected), then words with
 * double or single quotes and C escapes, then $$ for a literal $ (no variable is expected).
 */
function commandLine(line: string): string[] {
  const text = line.replace(/%(.?)/g, (_m, c: string) => {
    if (c !== '%') throw new Error(`unexpected specifier %${c} in ${line}`);
    return '%';
  });
  const escapes: Record<string, string> = { n: '\n', t: '\t', r: '\r', s: ' ', '\\': '\\', '"': '"', "'": "'" };
  const words: string[] = [];
  let i = 0;
  for (;;) {
    while (i < text.length && /\s/.test(text[i])) i++;
    if (i === text.length) break;
    let word = '';
    let quote = '';
    if (text[i] === '"' || text[i] === "'") quote = text[i++];
    for (; i < text.length; i++) {
      const c = text[i];
      if (quote !== '' && c === quote) {
        quote = '';
        i++;
        expect(i === text.length || /\s/.test(text[i]), `a closing quote ends the word in ${line}`).toBe(true);
        break;
      }
      if (quote === '' && /\s/.test(c)) break;
      if (c !== '\\') {
        word += c;
        continue;
      }
      const e = text[++i];
      if (e === 'x') {
        word += String.fromCharCode(parseInt(text.slice(i + 1, i + 3), 16));
        i += 2;
      } else if (e in escapes) word += escapes[e];
      else throw new Error(`unexpected escape \\${e} in ${line}`);
    }
    expect(quote, `unterminated quote in ${line}`).toBe('');
    words.push(
      word.replace(/\$(.?)/g, (_m, c: string) => {
        if (c !== '$') throw new Error(`unexpected variable $${c} in ${line}`);
        return '$';
      }),
    );
  }
  return words;
}

/** The program a bare name runs, found on PATH as execvp(3) would. */
function onPath(name: string): string {
  for (const dir of (process.env.PATH ?? '').split(delimiter)) {
    try {
      accessSync(join(dir, name), constants.X_OK);
      return join(dir, name);
    } catch {
      // next
    }
  }
  throw new Error(`${name} is not on PATH`);
}

const analyzer = spawnSync('systemd-analyze', ['--version'], { encoding: 'utf8' });
const noAnalyzer = analyzer.error ? 'systemd-analyze is not installed (Debian package systemd)' : undefined;

/** it() for systemd-analyze verify; without the tool, a skipped test that says why. */
function verifyIt(name: string, fn: () => unknown) {
  if (noAnalyzer === undefined) it(name, fn);
  else it.skip(`${name} [skipped: ${noAnalyzer}]`, fn);
}

/**
 * Writes the unit as <dir>/NAME.service and returns what systemd-analyze verify says about
 * that file. Other lines (about this machine's own units) are not ours.
 */
function verify(text: string, name: string): string[] {
  const dir = join(tmp(), `verify-${++n}`);
  mkdirSync(dir);
  const file = join(dir, `${name}.service`);
  writeFileSync(file, text);
  const r = spawnSync('systemd-analyze', ['verify', file], { encoding: 'utf8' });
  expect(r.status, r.stderr).toBe(0);
  return r.stderr.split('\n').filter((l) => l.includes(file) || l.includes(`${name}.service`));
}
// systemd warns of User=nobody at every load (the user owns whatever nobody else does);
// daemonkit writes the user it is given.
const nobodyWarning = /\.service:\d+: Special user nobody configured, this is not safe!$/;

const run = (...flags: string[]) => [node, '--', cliPath, 'run', ...flags];

describe('a plain service', () => {
  const args = ['--name', 'web', '--', node, '/srv/web/server.js', '--port', '8080'];

  it('is a Type=notify service whose ExecStart= is daemonkit run of the program, with absolute paths', () => {
    const text = unitText(...args);
    expect(text.startsWith('# web.service, written by daemonkit unit')).toBe(true);
    expect(value(text, 'Type')).toBe('notify');
    expect(value(text, 'Description')).toBe('daemonkit: web');
    expect(value(text, 'SyslogIdentifier')).toBe('web');
    expect(value(text, 'ExecStart').startsWith(`${node} -- ${cliPath} run `)).toBe(true);
    expect(commandLine(value(text, 'ExecStart'))).toEqual(
      // The program's directory is where the command ran (as for start): server.js there.
      run('--name', 'web', '--pid-file', '/run/daemonkit/web.pid', '--cwd', '/', '--restart', 'on-failure', '--stop-signal', 'TERM', '--stop-timeout', '10s', '--', node, '/srv/web/server.js', '--port', '8080'),
    );
    expect(value(text, 'WorkingDirectory')).toBe('/');
    expect(value(text, 'ExecReload')).toBe('/bin/kill -HUP $MAINPID');
    expect(value(text, 'Restart')).toBe('on-failure');
    expect(value(text, 'KillMode')).toBe('mixed');
    expect(value(text, 'TimeoutStopSec')).toBe('15s');
    expect(value(text, 'WantedBy')).toBe('multi-user.target');
  });

  it('is hardened, and may write only its run directory, which systemd makes and keeps', () => {
    const text = unitText(...args);
    expect(settings(text).filter(([k]) => /^(NoNewPrivileges|Protect|PrivateTmp|ReadWritePaths|RuntimeDirectory)/.test(k))).toEqual([
      ['RuntimeDirectory', 'daemonkit'],
      ['RuntimeDirectoryPreserve', 'yes'],
      ['NoNewPrivileges', 'yes'],
      ['ProtectSystem', 'strict'],
      // ExecStart= runs this checkout's dist/cli.js: a private /tmp or a hidden /home or /root
      // would hide it when the checkout is there (CI clones into /tmp).
      ['ProtectHome', /^\/(home|root|run\/user)\//.test(cliPath) ? 'read-only' : 'yes'],
      ['PrivateTmp', /^\/(var\/)?tmp\//.test(cliPath) ? 'no' : 'yes'],
      ['ReadWritePaths', '/run/daemonkit'],
    ]);
    expect(values(text, 'User')).toEqual([]);
    expect(values(text, 'AmbientCapabilities')).toEqual([]);
  });

  verifyIt('passes systemd-analyze verify', () => {
    expect(verify(unitText(...args), 'web')).toEqual([]);
  });
});

describe('a service with a user, limits, environment, a privileged port, a directory, a umask and a log file', () => {
  const args = () => [
    '--name', 'api', '--user', 'nobody', '--group', 'nogroup', '--rlimit', 'nofile=4096:8192', '--rlimit', 'core=0',
    '--env', 'NODE_ENV=production', '--env', 'GREETING=hello world', '--listen', '80', '--listen', '127.0.0.1:8080',
    '--cwd', join(tmp(), 'app'), '--umask', '027', '--log-file', join(tmp(), 'logs', 'api.log'), '--', node, 'server.js',
  ];

  it('runs as User= and Group=, with Limit*=, Environment=, WorkingDirectory= and UMask=', () => {
    const text = unitText(...args());
    expect([value(text, 'User'), value(text, 'Group')]).toEqual(['nobody', 'nogroup']);
    expect([values(text, 'LimitNOFILE'), values(text, 'LimitCORE')]).toEqual([['4096:8192'], ['0']]);
    expect(values(text, 'Environment')).toEqual(['NODE_ENV=production', '"GREETING=hello world"']);
    expect([value(text, 'WorkingDirectory'), value(text, 'UMask')]).toEqual([join(tmp(), 'app'), '0027']);
  });

  it('gives the user a run directory of its own, and run the flags it acts on; not --user (systemd starts run as it)', () => {
    const text = unitText(...args());
    expect(value(text, 'RuntimeDirectory')).toBe('daemonkit/api');
    // Its directory and log are under /tmp here: a private /tmp would hide them.
    expect(value(text, 'PrivateTmp')).toBe('no');
    expect(values(text, 'RuntimeDirectoryPreserve')).toEqual([]);
    expect(value(text, 'ReadWritePaths')).toBe(`/run/daemonkit/api -${join(tmp(), 'logs')}`);
    expect(commandLine(value(text, 'ExecStart'))).toEqual(
      run(
        '--name', 'api', '--pid-file', '/run/daemonkit/api/api.pid', '--log-file', join(tmp(), 'logs', 'api.log'), '--cwd', join(tmp(), 'app'),
        '--umask', '0027', '--listen', '80', '--listen', '127.0.0.1:8080', '--restart', 'on-failure', '--stop-signal', 'TERM',
        '--stop-timeout', '10s', '--', node, 'server.js',
      ),
    );
  });

  it('may bind port 80 as that user: CAP_NET_BIND_SERVICE, and no other capability', () => {
    const text = unitText(...args());
    expect([values(text, 'AmbientCapabilities'), values(text, 'CapabilityBoundingSet')]).toEqual([['CAP_NET_BIND_SERVICE'], ['CAP_NET_BIND_SERVICE']]);
  });

  verifyIt('passes systemd-analyze verify (which warns of User=nobody, and of nothing else)', () => {
    const said = verify(unitText(...args()), 'api');
    expect(said).toHaveLength(1);
    expect(said[0]).toMatch(nobodyWarning);
  });

  verifyIt('passes systemd-analyze verify without a word with another system user', () => {
    const other = args().map((a) => (a === 'nobody' ? 'daemon' : a === 'nogroup' ? 'daemon' : a));
    expect(verify(unitText(...other), 'api')).toEqual([]);
  });
});

describe('capabilities', () => {
  it('are not asked for when the port is not privileged, or when run binds as root', () => {
    const unprivileged = unitText('--user', 'daemon', '--listen', '8080', '--', node, 'x.js');
    const asRoot = unitText('--listen', '80', '--', node, 'x.js');
    for (const text of [unprivileged, asRoot]) expect(text).not.toMatch(/Capabilit/);
  });
});

describe('files the service needs', () => {
  it('under /home: ProtectHome=read-only, and the directories it writes made writable', () => {
    const text = unitText('--log-file', '/home/app/logs/app.log', '--listen', '/run/app/app.sock', '--pid-file', '/run/app/app.pid', '--', node, '/home/app/server.js');
    expect(value(text, 'ProtectHome')).toBe('read-only');
    // Given by path, they may not exist yet: "-" lets run start and say so itself.
    expect(value(text, 'ReadWritePaths')).toBe('-/run/app -/home/app/logs');
    expect(values(text, 'RuntimeDirectory')).toEqual([]);
  });
});

describe('from --config', () => {
  function config(body: unknown): string {
    const dir = join(tmp(), `config-${++n}`);
    mkdirSync(dir);
    writeFileSync(join(dir, 'app.env'), 'TOKEN=secret\n');
    writeFileSync(join(dir, 'app.json'), JSON.stringify(body));
    return dir;
  }
  const service = {
    name: 'worker', command: [node, 'worker.js'], restart: 'always', stopSignal: 'INT', stopTimeout: 20_000, readyTimeout: 5000,
    reload: 'restart', env: { MODE: 'batch' }, envFile: 'app.env', rlimits: { nofile: 65536 }, pidFile: 'run/worker.pid',
  };

  it('takes the service from the file, its relative paths from the file\'s directory', () => {
    const dir = config(service);
    const text = unitText('--config', join(dir, 'app.json'));
    expect(value(text, 'EnvironmentFile')).toBe(join(dir, 'app.env'));
    expect(values(text, 'Environment')).toEqual(['MODE=batch']);
    expect(value(text, 'LimitNOFILE')).toBe('65536');
    expect([value(text, 'TimeoutStopSec'), value(text, 'TimeoutStartSec')]).toEqual(['25s', '10s']);
    // --reload restart is run's to do: systemd has no signal to send.
    expect(values(text, 'ExecReload')).toEqual([]);
    expect(values(text, 'RuntimeDirectory')).toEqual([]);
    expect(value(text, 'ReadWritePaths')).toBe(`-${join(dir, 'run')}`);
    expect(commandLine(value(text, 'ExecStart'))).toEqual(
      run('--name', 'worker', '--pid-file', join(dir, 'run', 'worker.pid'), '--cwd', dir, '--ready-timeout', '5s', '--restart', 'always', '--stop-signal', 'INT', '--stop-timeout', '20s', '--reload', 'restart', '--', node, 'worker.js'),
    );
  });

  it('with flags over the file\'s keys', () => {
    const text = unitText('--config', join(config(service), 'app.json'), '--restart', 'never', '--reload', 'USR2');
    expect([value(text, 'Restart'), value(text, 'ExecReload')]).toEqual(['no', '/bin/kill -USR2 $MAINPID']);
  });

  verifyIt('passes systemd-analyze verify', () => {
    expect(verify(unitText('--config', join(config(service), 'app.json')), 'worker')).toEqual([]);
  });
});

describe('ExecStart=', () => {
  const awkward = ['-c', 'echo "$HOME" 50% \\ ; done', '', "it's", ';', 'tab\there', 'line\nnext', 'ünïcode', '$$', '%%'];

  it('gives the program every argument as it was, quoted for systemd, and finds a bare name on PATH', () => {
    const text = unitText('--name', 'sh', '--', 'sh', ...awkward);
    const words = commandLine(value(text, 'ExecStart'));
    expect(words.slice(words.lastIndexOf('--') + 1)).toEqual([onPath('sh'), ...awkward]);
  });

  verifyIt('with such arguments passes systemd-analyze verify', () => {
    expect(verify(unitText('--name', 'sh', '--', 'sh', ...awkward), 'sh')).toEqual([]);
  });

  it('runs the node and daemonkit the library is told to', () => {
    const text = systemdUnit({ name: 'x', command: [node] }, { node: '/opt/node 22/bin/node', cli: '/opt/daemonkit/dist/cli.js' });
    expect(commandLine(value(text, 'ExecStart')).slice(0, 4)).toEqual(['/opt/node 22/bin/node', '--', '/opt/daemonkit/dist/cli.js', 'run']);
  });
});

describe('bad input: one line naming it, exit 2, nothing on stdout', () => {
  const cases: [string, () => string[], RegExp][] = [
    ['an unknown user', () => ['--user', 'nosuchuser', '--', node, 'x.js'], /unknown user 'nosuchuser'/],
    ['a missing program', () => ['--', '/nonexistent/program'], /\/nonexistent\/program is not an executable file/],
    ['an unknown stop signal', () => ['--stop-signal', 'NOPE', '--', node], /--stop-signal must be a signal name/],
    ['an unknown rlimit', () => ['--rlimit', 'files=10', '--', node], /rlimits\.files is not a resource limit/],
    ['an environment name systemd would drop', () => ['--env', 'my-var=1', '--', node], /--env "my-var": systemd's Environment= takes only names/],
    [
      'a config with two services',
      () => {
        const file = join(tmp(), `two-${++n}.json`);
        writeFileSync(file, JSON.stringify({ services: [{ name: 'a', command: [node] }, { name: 'b', command: [node] }] }));
        return ['--config', file];
      },
      /has 2 services and a unit runs one; give a config with one service/,
    ],
  ];
  for (const [what, args, message] of cases) {
    it(what, () => {
      const r = unit(...args());
      expect(r.code).toBe(2);
      expect(r.stdout).toBe('');
      expect(r.stderr.split('\n')).toEqual([expect.stringMatching(/^daemonkit: /), '']);
      expect(r.stderr).toMatch(message);
    });
  }
});
