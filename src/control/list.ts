// list(): every service under a run directory, as status() sees each: a service is a PID
// file or a state file (NAME.pid, NAME.json) there, or in a directory NAME of its own (a
// unit that runs as its user, see paths.ts).
import { existsSync, readdirSync, type Dirent } from 'node:fs';
import { join } from 'node:path';
import { serviceStatus, type ServiceStatus } from './status';

/** The status of every service whose PID file or state file is in `runDir` (see defaultRunDir()). */
export function listServices(runDir: string): ServiceStatus[] {
  let entries: Dirent[];
  try {
    entries = readdirSync(runDir, { withFileTypes: true });
  } catch {
    return []; // no run directory: nothing was ever started there
  }
  const found = new Map<string, string>();
  for (const entry of entries) {
    const m = /^(.+)\.(pid|json)$/.exec(entry.name);
    if (m !== null && entry.isFile()) {
      found.set(m[1], join(runDir, `${m[1]}.pid`));
    } else if (entry.isDirectory() && !found.has(entry.name)) {
      const own = join(runDir, entry.name, `${entry.name}.pid`);
      if (existsSync(own) || existsSync(join(runDir, entry.name, `${entry.name}.json`))) found.set(entry.name, own);
    }
  }
  return [...found.keys()].sort().map((name) => serviceStatus(found.get(name)!));
}
