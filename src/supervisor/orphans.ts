// `daemonkit run` as PID 1 of a container, or as a child subreaper (prctl(2),
// PR_SET_CHILD_SUBREAPER): processes orphaned below it become its children, and a zombie
// nobody waits for stays in the process table. On each SIGCHLD, every child that is not the
// program is reaped by its pid; the program's own end is its ChildWatch's to reap.
import { readdirSync, readFileSync } from 'node:fs';
import { reap } from '../os/spawn';

export function reapOrphans(isProgram: (pid: number) => boolean): () => void {
  const onChild = () => {
    for (const pid of children()) {
      if (isProgram(pid)) continue;
      try {
        reap(pid);
      } catch {
        // reaped meanwhile
      }
    }
  };
  process.on('SIGCHLD', onChild);
  onChild();
  return () => process.removeListener('SIGCHLD', onChild);
}

/**
 * Our children, from /proc/self/task/TID/children (proc(5)): an orphan is handed to any live
 * thread of the reaper, so every thread's list is read.
 */
function children(): number[] {
  const out: number[] = [];
  let tasks: string[];
  try {
    tasks = readdirSync('/proc/self/task');
  } catch {
    return out;
  }
  for (const tid of tasks) {
    try {
      for (const pid of readFileSync(`/proc/self/task/${tid}/children`, 'utf8').split(' ')) if (pid !== '' && pid !== '\n') out.push(Number(pid));
    } catch {
      // the thread ended
    }
  }
  return out;
}
