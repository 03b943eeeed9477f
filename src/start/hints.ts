// What to do about a system call that failed during a start, by what the start was doing:
// one table for every step, so the same errno reads the same everywhere.
type Doing = 'pidFile' | 'logFile' | 'listenTcp' | 'listenUnix';

const fixes: Record<Doing, Record<string, string> & { default: string }> = {
  pidFile: {
    ENOENT: 'its directory does not exist; create it or choose another path',
    EACCES: 'its directory is not writable by this user; run as root or choose another path',
    EPERM: 'its directory is not writable by this user; run as root or choose another path',
    EROFS: 'its directory is not writable by this user; run as root or choose another path',
    default: 'choose another path',
  },
  logFile: {
    ENOENT: 'its directory does not exist; create it',
    default: 'check the path and its permissions',
  },
  listenTcp: {
    EADDRINUSE: 'another process is listening there; stop it or choose another port',
    EACCES: 'ports below 1024 need root; start as root (with user: to drop) or choose a port >= 1024',
    EADDRNOTAVAIL: 'that address is not on this machine',
    default: 'check the address',
  },
  listenUnix: {
    EADDRINUSE: 'another process is listening there; stop it or choose another port',
    EACCES: 'check that the directory exists and is writable',
    ENOENT: 'check that the directory exists and is writable',
    default: 'check the address',
  },
};

export function fixFor(err: unknown, doing: Doing): string {
  const code = (err as NodeJS.ErrnoException).code;
  const table = fixes[doing];
  return (code !== undefined && Object.hasOwn(table, code) ? table[code] : undefined) ?? table.default;
}
