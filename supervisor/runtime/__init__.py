"""The runtime: a graph turned into supervised processes, with trio.

It reads the pure model (``supervisor.graph.model``) and never changes it. One module a job:
``log`` (output and events), ``children`` (process groups and their pids), ``launch`` (what to
exec, expanded), ``listen`` (handed-over sockets), ``probes``, ``notify`` (sd_notify),
``unit`` (one service replica's state), ``supervise`` (its state machine), ``core`` (the graph
of units, capabilities and shutdown), ``control`` (the control socket) and ``client`` (its
blocking client), ``feed`` (the recent events and lines, pushed to watchers), ``reaper`` (PID 1),
``rundir`` (the private, locked runtime directory), ``groups`` (process groups recorded there,
stopped after a crash), ``proc`` (what /proc says about a process), ``programs`` (whether a command
can run here), ``credentials`` (user, group, umask), ``envfile`` (NAME=VALUE files) and
``finish`` (``exit_when``).
"""
