"""Stand-ins for the services the stand-in providers talk to: a Compute Engine host that
boots each instance as an isolated machine on a loopback address, and an AAP controller
that runs the real playbook with ansible-core."""
