"""Platform administration pages: networks, users and jobs; approvals of applications."""
