"""Network pages by workflow: home and audit log, members, the network profile."""
