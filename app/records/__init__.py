"""The shared record (overdracht): per patient in one network, named sections, each versioned (who,
when, why; old versions stay readable) and each belonging to exactly one consent part.

Layering: this package sits above app.patients and app.referrals and below app.cases. Who may read
which sections is not decided here: callers pass the keys the one access door allows.
"""
