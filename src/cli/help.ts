// Usage text per command, in runc's words where engines or people rely on them.
export const USAGE = `dx-runtime: an OCI runtime

Usage: dx-runtime [global options] command [command options] [arguments...]

Commands:
   create    create a container
   start     executes the user defined process in a created container
   state     output the state of a container
   kill      kill sends the specified signal (default: SIGTERM) to the container's init process
   delete    delete any resources held by the container often used with detached container
   run       create and run a container
   exec      execute new process inside the container
   ps        ps displays the processes running inside a container
   list      lists containers started by dx-runtime with the given root
   pause     pause suspends all processes inside the container
   resume    resumes all processes that have been previously paused
   update    update container resource constraints
   events    display container events such as OOM notifications, cpu, memory, and IO usage statistics
   features  show the enabled features
   checkpoint  checkpoint a running container (CRIU)
   restore   restore a container from a previous checkpoint (CRIU)
   spec      create a new specification file

Global options:
   --root value        root directory for storage of container state (default: "/run/dx-runtime")
   --log value         set the log file to write dx-runtime logs to (default: stderr)
   --log-format value  set the log format ('text' (default), or 'json')
   --debug             enable debug logging
   --systemd-cgroup    treat cgroupsPath as slice:prefix:name
   --criu value        path to the criu binary used for checkpoint and restore (default: "criu")
   --help, -h          show help
   --version, -v       print the version
`;

/** The CRIU options checkpoint and restore share, as runc lists them. */
const CRIU_OPTIONS = `   --image-path value           path for saving criu image files (default: ./checkpoint)
   --work-path value            path for saving work files and logs (default: the image path)
   --tcp-established            allow open tcp connections
   --ext-unix-sk                allow external unix sockets
   --shell-job                  allow shell jobs
   --file-locks                 handle file locks, for safety
   --lazy-pages                 use userfaultfd to lazily restore memory pages
   --manage-cgroups-mode value  cgroups mode: 'soft' (default), 'full' and 'strict'
   --empty-ns value             create a namespace, but don't restore its properties (network)
   --auto-dedup                 enable auto deduplication of memory images
`;

export const HELP: Record<string, string> = {
  create: `Usage: dx-runtime create [command options] <container-id>

Create a container from the bundle's config.json. The process waits until "start".

Options:
   --bundle value, -b value  path to the root of the bundle directory (default: current directory)
   --console-socket value    path to an AF_UNIX socket which will receive the pty master
   --pid-file value          file to write the process id to
   --no-pivot                do not use pivot root to jail process inside rootfs
   --no-new-keyring          do not create a new session keyring for the container
   --preserve-fds value      number of additional fds to pass to the container (default: 0)
`,
  start: `Usage: dx-runtime start <container-id>

Run the user defined process in a created container.
`,
  run: `Usage: dx-runtime run [command options] <container-id>

Create and start a container; without --detach, wait for it and exit with its status.

Options:
   --bundle value, -b value  path to the root of the bundle directory (default: current directory)
   --console-socket value    path to an AF_UNIX socket which will receive the pty master
   --detach, -d              detach from the container's process
   --keep                    do not delete the container after it exits
   --pid-file value          file to write the process id to
   --no-pivot                do not use pivot root to jail process inside rootfs
   --no-new-keyring          do not create a new session keyring for the container
   --preserve-fds value      number of additional fds to pass to the container (default: 0)
`,
  state: `Usage: dx-runtime state <container-id>

Output the state of a container as JSON.
`,
  kill: `Usage: dx-runtime kill [command options] <container-id> [signal]

Send a signal (default SIGTERM; names with or without SIG, or numbers) to the init process.
Signal 0 sends nothing and fails unless the container is still running.

Options:
   --all, -a  send the signal to all processes in the container
`,
  delete: `Usage: dx-runtime delete [command options] <container-id>...

Delete a stopped (or created) container and everything it holds.

Options:
   --force, -f  kill the container first if it is still running
`,
  list: `Usage: dx-runtime list [command options]

Options:
   --format value, -f value  table or json (default: "table")
   --quiet, -q               display only container IDs
`,
  ps: `Usage: dx-runtime ps [command options] <container-id> [ps options]

List the container's processes: the host's ps(1) output (run with the ps options given
after the id, -ef by default) filtered to them.

Options:
   --format value, -f value  table or json (default: "table")
`,
  spec: `Usage: dx-runtime spec [command options]

Write a default config.json to the bundle directory.

Options:
   --bundle value, -b value  path to the root of the bundle directory
   --rootless                generate a configuration for a rootless container
`,
  exec: `Usage: dx-runtime exec [command options] <container-id> <command> [args...]

Run a new process inside a running container, in its namespaces and cgroup.

Options:
   --process value, -p value      path to a process.json (or - for stdin) instead of a command
   --console-socket value         path to an AF_UNIX socket which will receive the pty master
   --pid-file value               file to write the process id to
   --detach, -d                   detach from the process
   --tty, -t                      allocate a pseudo-TTY
   --cwd value                    current working directory in the container
   --env value, -e value          set an environment variable (repeatable)
   --user value, -u value         uid[:gid]
   --additional-gids value, -g value  additional gids (repeatable or comma-separated)
   --cap value, -c value          add a capability to the bounding, effective, permitted and ambient sets
   --no-new-privs                 set no_new_privs for the process
   --apparmor value               AppArmor profile for the process
   --process-label value          SELinux label for the process
   --preserve-fds value           number of additional fds to pass to the process (default: 0)
   --ignore-paused                allow exec in a paused container
   --cgroup value                 run in an existing sub-cgroup of the container's: [<controller>[,...]:]<path> (repeatable)
`,
  pause: `Usage: dx-runtime pause <container-id>

Suspend every process in the container (cgroup freezer).
`,
  resume: `Usage: dx-runtime resume <container-id>

Resume every process of a paused container.
`,
  update: `Usage: dx-runtime update [command options] <container-id>

Change the container's resource limits.

Options:
   --resources value, -r value  path to a linux.resources JSON file (or - for stdin)
   --memory value               memory limit (bytes, or with a k/m/g suffix; -1 for none)
   --memory-reservation value   memory soft limit
   --memory-swap value          memory + swap limit
   --kernel-memory value        kernel memory limit (where the kernel still has it)
   --kernel-memory-tcp value    kernel TCP buffer limit
   --cpu-period value           CPU CFS period in microseconds
   --cpu-quota value            CPU CFS quota in microseconds
   --cpu-share value            CPU shares (relative weight)
   --cpu-rt-period value        CPU realtime period in microseconds
   --cpu-rt-runtime value       CPU realtime runtime in microseconds
   --cpu-idle value             SCHED_IDLE for the cgroup (0 or 1)
   --cpuset-cpus value          CPUs to use (e.g. 0-2,4)
   --cpuset-mems value          memory nodes to use
   --pids-limit value           maximum number of processes
   --blkio-weight value         block IO weight (10-1000)
`,
  events: `Usage: dx-runtime events [command options] <container-id>

Print the container's resource statistics as JSON.

Options:
   --stats           print one stats object and exit
   --interval value  time between stats lines (default: 5s)
`,
  checkpoint: `Usage: dx-runtime checkpoint [command options] <container-id>

Save the state of a running container with CRIU (criu swrk). Without --leave-running
or --pre-dump the container is stopped and deleted afterwards.

Options:
${CRIU_OPTIONS}   --parent-path value          path of a pre-dump's images, relative to --image-path
   --leave-running              leave the process running after checkpointing
   --pre-dump                   dump the memory only, leaving the container running
   --status-fd value            with --lazy-pages: criu writes \\0 to this fd once ready
   --page-server value          ADDRESS:PORT of the page server
`,
  restore: `Usage: dx-runtime restore [command options] <container-id>

Restore a container from a checkpoint with CRIU. It runs again with the bundle's config:
the cgroup and limits, prestart and createRuntime hooks, external bind mounts, joined
namespaces and its stdio pipes come back as they were.

Options:
${CRIU_OPTIONS}   --bundle value, -b value     path to the root of the bundle directory (default: current directory)
   --detach, -d                 detach from the container's process
   --pid-file value             file to write the process id to
   --console-socket value       path to an AF_UNIX socket which will receive the pty master
   --no-pivot                   accepted for runc's command line (CRIU sets up the root)
   --no-subreaper               do not become the subreaper of the restored processes
   --lsm-profile value          LSM profile for the restored processes, TYPE:NAME
   --lsm-mount-context value    LSM mount context for the restore
`,
  features: `Usage: dx-runtime features

Show the enabled features as JSON (runtime-spec features.md).
`,
};
