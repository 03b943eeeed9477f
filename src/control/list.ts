// list(): every service under a run directory, as status() sees each: a service is a PID
// file or a state file (NAME.pid, NAME.json) there.
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { serviceStatus, type ServiceStatus } from './status';

export function listServices(runDir: string): ServiceStatus[] {
  let entries: string[];
  try {
    entries = readdirSync(runDir);
  } catch {
    return []; // no run directory: nothing was ever started there
  }
  const names = new Set<string>();
  for (const entry of entries) {
    const m = /^(.+)\.(pid|json)$/.exec(entry);
    if (m !== null && !entry.endsWith('.tmp')) names.add(m[1]);
  }
  return [...names].sort().map((name) => serviceStatus(join(runDir, `${name}.pid`)));
}
