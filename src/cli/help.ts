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
   spec      create a new specification file

Global options:
   --root value        root directory for storage of container state (default: "/run/dx-runtime")
   --log value         set the log file to write dx-runtime logs to (default: stderr)
   --log-format value  set the log format ('text' (default), or 'json')
   --debug             enable debug logging
   --systemd-cgroup    treat cgroupsPath as slice:prefix:name
   --help, -h          show help
   --version, -v       print the version
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

Options:
   --format value, -f value  table or json (default: "table")
`,
  spec: `Usage: dx-runtime spec [command options]

Write a default config.json to the bundle directory.

Options:
   --bundle value, -b value  path to the root of the bundle directory
   --rootless                generate a configuration for a rootless container
`,
  features: `Usage: dx-runtime features

Show the enabled features as JSON (runtime-spec features.md).
`,
};
