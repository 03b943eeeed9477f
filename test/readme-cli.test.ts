// Every session the README and the guide print (```console blocks) runs as printed
// (scripts/readme-session.mjs): each `$` line through sh, in a directory that holds the
// package as node_modules/daemonkit and its examples/, as a project that installed it would,
// with `daemonkit` on PATH and the run and log directories in a temporary directory. What it
// prints must be what is shown, but for pids (mapped in order of appearance), sizes,
// uptimes, the port (a free one for 8080) and the paths under /tmp/.
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { runSession, sessionsOf } from '../scripts/readme-session.mjs';
import { freePort, packageAsNobody, root, useProcessControl, useTmpDir } from './helpers';
import { cliPath } from './cli-run';

const pc = useProcessControl();
const tmp = useTmpDir();

for (const doc of ['README.md', 'docs/guide.md']) {
  const sessions = sessionsOf(readFileSync(join(root, doc), 'utf8'));
  describe(doc, () => {
    it('has sessions', () => expect(sessions.length).toBeGreaterThan(0));
    sessions.forEach((session, i) => {
      it(`session ${i + 1} ("${session.section}"), as printed`, () => {
        const dir = mkdtempSync(join(tmp(), 'session-'));
        chmodSync(dir, 0o755);
        const bin = join(dir, 'bin');
        mkdirSync(bin);
        writeFileSync(join(bin, 'daemonkit'), `#!/bin/sh\nexec "${process.execPath}" -- "${cliPath}" "$@"\n`);
        chmodSync(join(bin, 'daemonkit'), 0o755);
        const project = join(dir, 'project');
        mkdirSync(join(project, 'node_modules'), { recursive: true });
        symlinkSync(packageAsNobody(), join(project, 'node_modules', 'daemonkit'));
        symlinkSync(join(root, 'examples'), join(project, 'examples'));
        const logDir = join(dir, 'log');
        const env = { ...process.env, PATH: `${bin}:${process.env.PATH}`, DAEMONKIT_RUN_DIR: join(dir, 'run'), DAEMONKIT_LOG_DIR: logDir };
        const result = runSession(session, { cwd: project, env, port: freePort(), tmp: dir, logDir });
        for (const pid of result.pids) pc.track(pid);
        for (const step of result.steps) expect({ command: step.command, printed: step.printed }).toEqual({ command: step.command, printed: step.expected });
        expect(result.steps.length).toBe(session.steps.length);
      });
    });
  });
}
