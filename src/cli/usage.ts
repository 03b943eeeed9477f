// What `daemonkit --help` says. The README's CLI section says the same at length.
export const USAGE = `Usage: daemonkit <command> [options]

  daemonkit start   [options] -- <program> [args...]    or: --config FILE
  daemonkit stop    (--name N | --pid-file F | --config FILE) [--timeout S] [--signal SIG]
  daemonkit restart (--name N | --pid-file F | --config FILE)
  daemonkit reload  (--name N | --pid-file F)     as --reload chose at start (default SIGHUP)
  daemonkit status  (--name N | --pid-file F) [--json]
  daemonkit list    [--json]
  daemonkit logs    (--name N | --log-file F) [-n LINES] [-f]
  daemonkit run     [options] -- <program> [args...]    the supervisor in the foreground
  daemonkit unit    [options] -- <program> [args...]    print a systemd unit

Start options: --name, --pid-file, --log-file, --cwd, --umask, --user, --group,
  --rlimit NAME=SOFT[:HARD], --env KEY=VALUE, --env-file FILE, --listen [HOST:]PORT|PATH,
  --ready exec|notify|tcp:[HOST:]PORT, --ready-timeout S, --restart never|on-failure|always,
  --restart-delay MS, --backoff FACTOR, --max-restarts N --restart-window S,
  --success-exit-codes LIST, --stop-signal SIG, --stop-timeout S, --reload signal|SIG|restart,
  --config FILE (JSON, the same keys in camelCase; flags win)
daemonkit <command> --help, daemonkit --version`;
