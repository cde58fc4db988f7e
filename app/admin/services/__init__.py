"""Platform administration services: networks and their first coordinator; erasure on a legal request."""
