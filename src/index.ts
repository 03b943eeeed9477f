/**
 * daemonkit: the system calls Node lacks for real Unix daemons, validated and explained.
 * Entries below are alphabetical within each kind; by topic:
 *
 * - Becoming a daemon: {@link daemonize} (the {@link Daemon} it resolves with, its
 *   {@link DaemonizeOptions}, the {@link DaemonizeError} of a failed start), {@link PidFile}.
 * - Lifecycle of a running daemon: {@link onShutdown}, {@link requestShutdown},
 *   {@link closeServer}, {@link onReload}, {@link reopenLogs}; under systemd {@link notify},
 *   {@link listenFds}, {@link startWatchdog}.
 * - Services, as the `daemonkit` command runs them: {@link start}, {@link stop},
 *   {@link restart}, {@link reloadService}, {@link serviceStatus}, {@link listServices},
 *   {@link runService}, {@link systemdUnit}, {@link readConfig}.
 * - System calls: processes ({@link spawnDaemon}, {@link spawnChild}, {@link reap},
 *   {@link setsid}), identity ({@link resolveCredentials}, {@link dropPrivileges},
 *   {@link chroot}), limits ({@link setrlimit}), descriptors and locks ({@link openLockFile},
 *   {@link tryLock}, {@link setCloseOnExec}), sockets ({@link listenTcp}, {@link listenUnix}),
 *   Linux prctl ({@link setChildSubreaper}, {@link setNoNewPrivileges}).
 *
 * Failed system calls throw {@link SystemError}, shaped like Node's own.
 *
 * @packageDocumentation
 */
export { SystemError } from './errors';
export type { Subject } from './errors';
export { spawnDaemon, spawnChild, reap } from './os/spawn';
export type { SpawnOptions, ChildSpawnOptions, ExitStatus } from './os/spawn';
export { openLockFile, tryLock, unlock } from './os/flock';
export { setCloseOnExec, isCloseOnExec } from './os/fd';
export type { OpenLockFileOptions } from './os/flock';
export { getrlimit, setrlimit, rlimitNames } from './os/rlimit';
export type { Rlimit } from './os/rlimit';
export { lookupUser, lookupGroup, groupList, resolveCredentials, UnknownIdentityError } from './os/identity';
export type { UserInfo, GroupInfo, Credentials } from './os/identity';
export { dropPrivileges, processIdentity, PrivilegeDropError } from './os/privileges';
export type { DropPrivilegesOptions, ProcessIdentity } from './os/privileges';
export { listenTcp, listenUnix, socketAddress } from './os/socket';
export type { TcpListenOptions, UnixListenOptions, TcpListener, UnixListener, SocketAddress } from './os/socket';
export { sendDatagram, bindDatagram, receiveDatagram } from './os/datagram';
export { setsid, getsid, getpgid } from './os/session';
export { setChildSubreaper, isChildSubreaper, setParentDeathSignal, getParentDeathSignal, setNoNewPrivileges, hasNoNewPrivileges } from './os/prctl';
export { daemonize } from './start/daemonize';
export { DaemonizeError } from './errors';
export type { DaemonizeOptions, ListenOptions } from './start/options';
export type { Daemon, Listener } from './start/service';
export { PidFile } from './start/pidfile';
export type { PidFileAcquireResult } from './start/pidfile';
export { pipe, dup2 } from './os/fd';
export { chroot } from './os/root';
export { onShutdown, requestShutdown, configureShutdown } from './lifecycle/shutdown';
export type { ShutdownHook } from './lifecycle/hooks';
export type { ShutdownOptions } from './lifecycle/shutdown';
export { onReload, reload } from './lifecycle/reload';
export type { ReloadHook } from './lifecycle/hooks';
export { closeServer } from './lifecycle/close-server';
export type { CloseServerOptions } from './lifecycle/close-server';
export { reopenLogs } from './lifecycle/log-reopen';
export { notify, status } from './lifecycle/notify';
export { listenFds, underSystemd } from './start/activation';
export type { ActivatedSocket } from './start/activation';
export { startWatchdog, stopWatchdog } from './lifecycle/watchdog';
export { start } from './control/start';
export type { StartResult } from './control/start';
export { stop } from './control/stop';
export type { StopOptions, StopResult } from './control/stop';
export { serviceStatus } from './control/status';
export type { ServiceStatus } from './control/status';
export type { ServiceOptions } from './control/service-options';
export { defaultRunDir, defaultLogDir, pidFileOf } from './control/paths';
export { listServices } from './control/list';
export { lastLines, follow } from './control/follow';
export { restart } from './control/restart';
export { reloadService } from './control/reload-service';
export type { ReloadResult } from './control/reload-service';
export { readConfig } from './control/config';
export { signalNamed } from './control/service-options';
export { runService } from './control/run';
export type { RunResult } from './control/run';
export { systemdUnit } from './control/unit';
export type { UnitPaths } from './control/unit';
