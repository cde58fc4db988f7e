"""Migrations: one head, models match the migrated schema, downgrade to base and back works,
and the seed data (disciplines) and PostgreSQL's append-only trigger come with them."""
from __future__ import annotations

import os
from pathlib import Path

import flask_migrate
import pytest
from alembic.autogenerate import compare_metadata
from alembic.config import Config as AlembicConfig
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import create_engine, func, inspect, select, text
from sqlalchemy.engine import make_url

from app.extensions import db
from app.networks.models import Discipline
from tests.conftest import DATABASE_URL, IS_POSTGRES

MIGRATIONS = Path(__file__).resolve().parent.parent / "migrations"


def _script() -> ScriptDirectory:
    config = AlembicConfig()
    config.set_main_option("script_location", str(MIGRATIONS))
    return ScriptDirectory.from_config(config)


def test_one_head():
    heads = _script().get_heads()
    assert len(heads) == 1, f"several migration heads, merge them: {heads}"


def test_every_revision_file_is_on_the_path_from_head_to_base():
    """No orphaned or duplicated revision: walking down from the head visits every file once."""
    walked = [revision.revision for revision in _script().walk_revisions("base", "heads")]
    files = [path for path in (MIGRATIONS / "versions").glob("*.py") if not path.name.startswith("_")]
    assert len(walked) == len(set(walked)) == len(files)


def test_test_database_is_at_head():
    with db.engine.connect() as connection:
        assert MigrationContext.configure(connection).get_current_heads() == tuple(_script().get_heads())


def test_models_match_migrations():
    """Autogenerate against the migrated test database finds nothing to do. Nothing is ignored:
    types and server defaults are compared too, as Flask-Migrate is configured (compare_type)."""
    with db.engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={
            "compare_type": True, "compare_server_default": True, "render_as_batch": True})
        diffs = compare_metadata(context, db.metadata)
    assert diffs == [], "models and migrations differ; write a migration:\n" + "\n".join(map(str, diffs))


# --- downgrade and upgrade on a throwaway database -----------------------------------------------

@pytest.fixture
def throwaway_url(tmp_path):
    if not IS_POSTGRES:
        yield f"sqlite:///{tmp_path / 'migrations.db'}"
        return
    url = make_url(DATABASE_URL)
    name = f"{url.database}_migrations_{os.getpid()}"
    server = create_engine(url, isolation_level="AUTOCOMMIT")
    try:
        with server.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
            connection.execute(text(f'CREATE DATABASE "{name}"'))
        yield url.set(database=name).render_as_string(hide_password=False)
        with server.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    finally:
        server.dispose()


def _tables() -> set[str]:
    return set(inspect(db.engine).get_table_names()) - {"alembic_version"}


def _disciplines() -> tuple[int, set[str]]:
    codes = set(db.session.scalars(select(Discipline.code)))
    return db.session.scalar(select(func.count()).select_from(Discipline)), codes


def _has_append_only_trigger() -> bool:
    return bool(db.session.scalar(text(
        "SELECT count(*) FROM pg_trigger"
        " WHERE tgname = 'audit_events_no_update_delete' AND NOT tgisinternal")))


def test_upgrade_downgrade_upgrade(app_with, throwaway_url):
    other = app_with(SQLALCHEMY_DATABASE_URI=throwaway_url)
    model_tables = {table.name for table in db.metadata.sorted_tables}
    with other.app_context():
        try:
            assert _tables() == set()
            flask_migrate.upgrade()
            assert _tables() == model_tables
            count, codes = _disciplines()
            assert count == 18
            assert {"dietist", "fysiotherapeut", "psycholoog"} <= codes
            if IS_POSTGRES:
                assert _has_append_only_trigger()
            db.session.remove()

            flask_migrate.downgrade(revision="base")
            assert _tables() == set()
            if IS_POSTGRES:
                assert not db.session.scalar(text(
                    "SELECT count(*) FROM pg_proc WHERE proname = 'audit_events_append_only'"))
                db.session.remove()

            flask_migrate.upgrade()
            assert _tables() == model_tables
            assert _disciplines()[0] == 18  # seeded once again, not twice
            if IS_POSTGRES:
                assert _has_append_only_trigger()
            with db.engine.connect() as connection:
                heads = MigrationContext.configure(connection).get_current_heads()
            assert heads == tuple(_script().get_heads())
        finally:
            db.session.remove()
            db.engine.dispose()  # no open connection left to block DROP DATABASE


def test_each_revision_upgrades_a_database_that_holds_data(app_with, throwaway_url):
    """Upgrading a live database (rows in every earlier table) must work, not only an empty one.

    SQLite rebuilds a table to change it; with foreign keys on that failed for referenced tables,
    and the earlier test on an empty database could not see it.
    """
    other = app_with(SQLALCHEMY_DATABASE_URI=throwaway_url)
    with other.app_context():
        try:
            flask_migrate.upgrade(revision="0001")
            db.session.execute(text(
                "INSERT INTO networks (slug, name, region, status, default_locale) "
                "VALUES ('oud', 'Oud netwerk', 'Regio', 'active', 'nl')"))
            db.session.execute(text(
                "INSERT INTO users (email, full_name, is_platform_admin, is_demo, active) "
                "VALUES ('oud@example.nl', 'Oud Lid', false, false, true)"))
            db.session.execute(text(
                "INSERT INTO memberships (network_id, user_id, role, is_active, practice_name, city) "
                "SELECT n.id, u.id, 'member', true, 'Praktijk', 'Haarlem' FROM networks n, users u"))
            db.session.commit()
            db.session.remove()
            flask_migrate.upgrade()
            row = db.session.execute(text(
                "SELECT n.approved_at IS NOT NULL, m.is_accepting_patients, m.postcode FROM memberships m "
                "JOIN networks n ON n.id = m.network_id")).one()
            assert tuple(row) == (True, True, "")
            assert db.session.scalar(text("SELECT count(*) FROM criteria")) == 24
        finally:
            db.session.remove()
            db.engine.dispose()


def test_0003_fills_the_new_columns_of_existing_rows(app_with, throwaway_url):
    """Existing GP profiles become kind 'gp' with an empty phone; users who set a password through an
    invitation count as verified, a pending invitee does not."""
    other = app_with(SQLALCHEMY_DATABASE_URI=throwaway_url)
    with other.app_context():
        try:
            flask_migrate.upgrade(revision="0002")
            db.session.execute(text(
                "INSERT INTO users (email, full_name, password_hash, is_platform_admin, is_demo, active) VALUES "
                "('gp@example.nl', 'Oude Huisarts', 'x', false, false, true), "
                "('invitee@example.nl', 'Uitgenodigd', NULL, false, false, false)"))
            db.session.execute(text(
                "INSERT INTO gp_profiles (user_id, agb_code, practice_name, city) "
                "SELECT id, '01234567', 'Praktijk', 'Haarlem' FROM users WHERE email = 'gp@example.nl'"))
            db.session.commit()
            db.session.remove()
            flask_migrate.upgrade(revision="0003")
            row = db.session.execute(text("SELECT kind, phone, practice_agb FROM gp_profiles")).one()
            assert tuple(row) == ("gp", "", None)
            verified = dict(db.session.execute(text(
                "SELECT email, email_verified_at IS NOT NULL FROM users")).all())
            assert verified == {"gp@example.nl": True, "invitee@example.nl": False}
            db.session.remove()
            flask_migrate.downgrade(revision="0002")
            assert "practice_nurse_links" not in _tables()
            assert db.session.scalar(text("SELECT count(*) FROM gp_profiles")) == 1
        finally:
            db.session.remove()
            db.engine.dispose()


def test_0007_fills_the_shared_record_from_referrals_and_completed_intakes(app_with, throwaway_url):
    """A live database at 0006 (two networks, each with a case; a draft; a corrected intake in one) gets
    its patients' record sections at 0007: the referral's content first, then each completed intake
    merged over it, in each network's own rows, exactly as the application's mapping would write it."""
    from app.cases import services as case_services
    from app.cases.models import Case, Intake, IntakeStatus
    from app.core.tenancy import network_context
    from app.networks.models import Role
    from app.records import services as records
    from app.records.models import RecordSection, RecordSectionVersion, RecordSource, SectionKey
    from app.referrals.models import Referral, ReferralStatus
    from tests.case_factories import make_case
    from tests.conftest import make_gp, make_member, make_network
    from tests.referral_factories import make_referral

    other = app_with(SQLALCHEMY_DATABASE_URI=throwaway_url)
    with other.app_context():
        try:
            flask_migrate.upgrade()  # the factories need today's schema; 0007's tables stay empty
            gp = make_gp("gp@example.nl", "01234567", name="Dr. Huisarts")
            made = {}
            for slug in ("noord", "zuid"):
                network = make_network(slug)
                coordinator = make_member(network, f"c@{slug}.nl", role=Role.COORDINATOR, disciplines=("casemanager",))
                case = make_case(network, gp, coordinator, story=f"Verhaal {slug}")
                made[slug] = {"network_id": network.id, "case_id": case.id, "referral_id": case.referral_id,
                              "patient_id": case.patient_id, "coordinator": coordinator}
            make_referral(db.session.get(type(network), made["noord"]["network_id"]), gp,
                          status=ReferralStatus.DRAFT)
            noord = made["noord"]
            with network_context(noord["network_id"]):
                case = db.session.get(Case, noord["case_id"])
                actor = noord["coordinator"].user
                draft = case_services.correct_intake(case, actor, "Verkeerd verhaal")
                case_services.save_intake(draft, actor, {"story": "Verbeterd verhaal",
                                                         "sharing_wishes": "Niet met de buren"})
                case_services.complete_intake(draft, actor, noord["coordinator"])
                db.session.commit()
            # What the application's mapping says, computed before the tables are rebuilt.
            expected = {}
            for slug, ids in made.items():
                with network_context(ids["network_id"]):
                    referral = db.session.get(Referral, ids["referral_id"])
                    state = {key: dict(value) for key, value in records.content_from_referral(referral).items()}
                    intakes = db.session.scalars(select(Intake).where(
                        Intake.referral_id == referral.id, Intake.status == IntakeStatus.COMPLETED)
                        .order_by(Intake.version)).all()
                    for intake in intakes:
                        state.update(records.content_from_intake(records.intake_facts(intake), current=state))
                    expected[slug] = state
            db.session.remove()

            flask_migrate.downgrade(revision="0006")
            assert "record_sections" not in _tables()
            flask_migrate.upgrade()

            for slug, ids in made.items():
                with network_context(ids["network_id"]):
                    sections = {row.key: row for row in db.session.scalars(select(RecordSection))}
                    assert {row.patient_id for row in sections.values()} == {ids["patient_id"]}
                    assert {key: row.content for key, row in sections.items()} == expected[slug], slug
                    versions = db.session.scalars(select(RecordSectionVersion).order_by(
                        RecordSectionVersion.id)).all()
                    assert {row.network_id for row in versions} == {ids["network_id"]}
                    assert all(row.written_by_id is None and "migration 0007" in row.reason for row in versions)
                    by_key = {}
                    for row in versions:
                        by_key.setdefault(row.key, []).append(row)
                    for key, rows in by_key.items():
                        assert [row.version for row in rows] == list(range(1, len(rows) + 1))
                        assert sections[key].version == len(rows)
                        assert sections[key].content == rows[-1].content
                    assert by_key[SectionKey.DIAGNOSIS][0].source is RecordSource.REFERRAL
                    assert by_key[SectionKey.DIAGNOSIS][0].referral_id == ids["referral_id"]
                    assert sections[SectionKey.DIAGNOSIS].content["tumour_type"] == "colorectal"
                    assert sections[SectionKey.MEDICATION].content["rows"][0]["name"] == "Loperamide"
                    story = by_key[SectionKey.STORY]
                    assert all(row.source is RecordSource.INTAKE and row.case_id == ids["case_id"] for row in story)
                    assert story[0].content["story"] == f"Verhaal {slug}"
            noord_story = None
            with network_context(noord["network_id"]):
                noord_story = records.history(noord["patient_id"], SectionKey.STORY)
                assert [(row.version, row.content["story"], row.content["sharing_wishes"]) for row in noord_story] == [
                    (2, "Verbeterd verhaal", "Niet met de buren"), (1, "Verhaal noord", "")]
                assert noord_story[0].intake_id != noord_story[1].intake_id
        finally:
            db.session.remove()
            db.engine.dispose()


def test_0009_turns_each_notes_discipline_list_into_rows(app_with, throwaway_url):
    """A live database at 0008 with notes of two networks gets, at 0009, one note_disciplines row per
    discipline in each note's JSON list, in the note's own network; a note without disciplines gets none."""
    from app.cases import services as case_services
    from app.cases.models import Case, Note, NoteDiscipline, NoteVisibility
    from app.core.tenancy import network_context
    from app.networks.models import Role
    from tests.case_factories import make_case
    from tests.conftest import make_gp, make_member, make_network

    other = app_with(SQLALCHEMY_DATABASE_URI=throwaway_url)
    with other.app_context():
        try:
            flask_migrate.upgrade()
            gp = make_gp("gp@example.nl", "01234567", name="Dr. Huisarts")
            expected = set()
            for slug in ("noord", "zuid"):
                network = make_network(slug)
                coordinator = make_member(network, f"c@{slug}.nl", role=Role.COORDINATOR,
                                          disciplines=("casemanager", "dietist"))
                case = make_case(network, gp, coordinator)
                with network_context(network.id):
                    case = db.session.get(Case, case.id)
                    note = case_services.add_note(case, coordinator.user, coordinator, "Alleen voor ons",
                                                  NoteVisibility.DISCIPLINE)
                    db.session.commit()
                    expected |= {(network.id, note.id, d) for d in note.discipline_ids}
                    assert len(note.discipline_ids) == 2
            db.session.remove()

            flask_migrate.downgrade(revision="0008")
            assert "note_disciplines" not in _tables()
            flask_migrate.upgrade()
            rows = db.session.execute(text("SELECT network_id, note_id, discipline_id FROM note_disciplines")).all()
            assert {tuple(row) for row in rows} == expected
            assert NoteDiscipline.__tablename__ in _tables() and Note.__tablename__ in _tables()
        finally:
            db.session.remove()
            db.engine.dispose()
