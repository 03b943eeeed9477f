// flock(2) locks as other processes see them: held, released by death, inherited by a daemon.
import { closeSync, existsSync, mkdirSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { isCloseOnExec, setCloseOnExec } from '../src/os/fd';
import { openLockFile, spawnDaemon, tryLock, unlock } from '../src/index';
import { firstLine, fixture, useProcessControl, useTmpDir, waitFor } from './helpers';

const pc = useProcessControl();
const tmp = useTmpDir();

function holder(path: string, mode?: 'shared') {
  return pc.start(process.execPath, [fixture('lock-holder.js'), path, ...(mode ? [mode] : [])]);
}

/** A fresh open file description of `path`, locked or not, closed again. */
function canLock(path: string, shared = false): boolean {
  const fd = openLockFile(path);
  try {
    return tryLock(fd, { shared });
  } finally {
    closeSync(fd);
  }
}

describe('flock', () => {
  it('reads a lock held by another process as held (false, not an error)', async () => {
    const path = join(tmp(), 'held.lock');
    const child = holder(path);
    expect(await firstLine(child)).toBe('locked');
    expect(canLock(path)).toBe(false);
    expect(canLock(path, true)).toBe(false);
  });

  it('is released when the holder is SIGKILLed', async () => {
    const path = join(tmp(), 'killed.lock');
    const child = holder(path);
    expect(await firstLine(child)).toBe('locked');
    expect(canLock(path)).toBe(false);
    child.kill('SIGKILL');
    await waitFor('the lock to be released', () => canLock(path));
  });

  it('shares shared locks and excludes an exclusive one', async () => {
    const path = join(tmp(), 'shared.lock');
    const child = holder(path, 'shared');
    expect(await firstLine(child)).toBe('locked');
    expect(canLock(path, true)).toBe(true);
    expect(canLock(path)).toBe(false);
  });

  it('stays held by a daemon that inherited the descriptor after the launcher closes its copy', async () => {
    const path = join(tmp(), 'daemon.lock');
    const fd = openLockFile(path);
    expect(tryLock(fd)).toBe(true);
    const pid = pc.track(spawnDaemon('/bin/sleep', { args: ['30'], fds: [fd] }));
    closeSync(fd);
    expect(canLock(path)).toBe(false);
    process.kill(pid, 'SIGKILL');
    await pc.exitOf(pid);
    expect(canLock(path)).toBe(true);
  });

  it('unlocks on request', () => {
    const path = join(tmp(), 'unlock.lock');
    const fd = openLockFile(path);
    try {
      expect(tryLock(fd)).toBe(true);
      expect(canLock(path)).toBe(false);
      unlock(fd);
      expect(canLock(path)).toBe(true);
    } finally {
      closeSync(fd);
    }
  });

  it('refuses to follow a symlink (ELOOP, naming the path)', () => {
    const target = join(tmp(), 'target');
    const link = join(tmp(), 'link.pid');
    writeFileSync(target, '');
    symlinkSync(target, link);
    expect(() => openLockFile(link)).toThrow(
      expect.objectContaining({ code: 'ELOOP', syscall: 'open', path: link, message: `ELOOP: too many symbolic links encountered, open '${link}'` }),
    );
  });

  it('does not create the file when asked not to', () => {
    const path = join(tmp(), 'absent.lock');
    expect(() => openLockFile(path, { create: false })).toThrow(expect.objectContaining({ code: 'ENOENT', path }));
    expect(existsSync(path)).toBe(false);
  });

  it('reports a directory as EISDIR', () => {
    const dir = join(tmp(), 'dir.pid');
    mkdirSync(dir);
    expect(() => openLockFile(dir)).toThrow(expect.objectContaining({ code: 'EISDIR', path: dir }));
  });

  it('opens close-on-exec, and that can be cleared and set', () => {
    const fd = openLockFile(join(tmp(), 'cloexec.lock'));
    try {
      expect(isCloseOnExec(fd)).toBe(true);
      setCloseOnExec(fd, false);
      expect(isCloseOnExec(fd)).toBe(false);
      setCloseOnExec(fd);
      expect(isCloseOnExec(fd)).toBe(true);
    } finally {
      closeSync(fd);
    }
  });

  it('reports a bad descriptor as EBADF from flock', () => {
    expect(() => tryLock(987654)).toThrow(expect.objectContaining({ code: 'EBADF', syscall: 'flock' }));
  });
});
