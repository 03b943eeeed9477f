// entry.mjs: the launcher loads this file and daemonkit, nothing else
import { daemonize } from 'daemonkit';

const daemon = await daemonize({ name: 'app', pidFile: '/tmp/app.pid', listen: [{ host: '127.0.0.1', port: 8080 }] });
const { start } = await import('./app.mjs'); // loaded by the daemon alone
start(daemon);
// curl http://127.0.0.1:8080/  →  hello from the app, pid 1234
