// The floor of any daemonizing package, for bench/start.mjs: resolved by a bare specifier
// (server.mjs imports it by its package name), it loads daemonkit's addon and re-spawns the
// program with the native double fork, and does nothing else: no builtins, no validation,
// lock, bind, logs or readiness. What daemonkit costs above this is its own work.
const addon = { exports: {} };
const path = (relative) => decodeURIComponent(new URL(relative, import.meta.url).pathname);
try {
  process.dlopen(addon, path('../../native/build/Release/daemonkit.node'));
} catch {
  process.dlopen(addon, path(`../../prebuilds/${process.platform}-${process.arch}/daemonkit.glibc.node`));
}

export function respawn(env) {
  const envp = Object.entries(env).map(([k, v]) => `${k}=${v}`);
  const argv = [process.execPath, ...process.execArgv, ...process.argv.slice(1)];
  // spawn's one argument, read by field name: native/spawn.cc
  return addon.exports.spawn({
    file: process.execPath,
    argv,
    envp,
    cwd: null,
    umask: -1,
    stdio: [-1, -1, -1],
    fds: [],
    daemon: true,
    setsid: false,
    credentials: null,
    rlimits: [],
    noNewPrivileges: false,
    setListenPid: false,
  });
}
