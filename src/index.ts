// daemonkit: the system calls Node lacks for real Unix daemons, validated and explained.
export { SystemError } from './errors';
export { spawnDaemon, spawnChild, reap } from './spawn';
export type { SpawnOptions, ChildSpawnOptions, ExitStatus } from './spawn';
export { openLockFile, tryLock, unlock, setCloseOnExec, isCloseOnExec } from './flock';
export type { OpenLockFileOptions } from './flock';
export { getrlimit, setrlimit, rlimitNames } from './rlimit';
export type { Rlimit } from './rlimit';
export { lookupUser, lookupGroup, groupList, resolveCredentials, UnknownIdentityError } from './identity';
export type { UserInfo, GroupInfo, Credentials } from './identity';
export { dropPrivileges, processIdentity, PrivilegeDropError } from './privileges';
export type { DropPrivilegesOptions, ProcessIdentity } from './privileges';
export { listenTcp, listenUnix, socketAddress } from './socket';
export type { TcpListenOptions, UnixListenOptions, TcpListener, UnixListener } from './socket';
export { sendDatagram, bindDatagram, receiveDatagram } from './datagram';
export { setsid, getsid, getpgid } from './session';
export {
  setChildSubreaper,
  isChildSubreaper,
  setParentDeathSignal,
  getParentDeathSignal,
  setNoNewPrivileges,
  hasNoNewPrivileges,
} from './prctl';
export { daemonize } from './start/daemonize';
export { DaemonizeError } from './daemonize-errors';
export type { DaemonizeOptions } from './daemonize-options';
export type { Daemon, Listener } from './start/service';
export { PidFile } from './pidfile';
export { pipe, chroot, dup2 } from './session';
export { onShutdown, requestShutdown, configureShutdown } from './shutdown';
export type { ShutdownHook, ShutdownOptions } from './shutdown';
export { onReload, reload } from './reload';
export type { ReloadHook } from './reload';
export { closeServer } from './close-server';
export type { CloseServerOptions } from './close-server';
export { reopenLogs } from './log-files';
export { notify, status, listenFds, underSystemd } from './systemd';
export type { ActivatedSocket } from './systemd';
export { startWatchdog, stopWatchdog } from './watchdog';
