// The supervisor's entry (dist/supervisor.js), started by the daemonkit command as the
// daemon of a service with a restart policy. Bundled on its own with only what it uses.
import { SUPERVISE_ENV, type SupervisorPlan } from './supervisor/plan';
import { supervise } from './supervisor/supervise';

const text = process.env[SUPERVISE_ENV];
delete process.env[SUPERVISE_ENV];
if (text === undefined) {
  process.stderr.write('daemonkit supervisor: started without its plan; it is started by `daemonkit start --restart ...`\n');
  process.exitCode = 2;
} else {
  // Signal handlers and a child's SIGCHLD do not keep Node's event loop alive: this does,
  // for as long as the supervisor supervises.
  const alive = setInterval(() => {}, 2 ** 31 - 1);
  void supervise(JSON.parse(text) as SupervisorPlan).then((code) => {
    clearInterval(alive);
    process.exit(code);
  });
}
