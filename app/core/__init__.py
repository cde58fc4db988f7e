"""Infrastructure shared by every feature: database base, tenancy, security, audit, jobs, i18n."""
