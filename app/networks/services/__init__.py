"""Network services by workflow: memberships, member profiles, the member import, the network profile."""
