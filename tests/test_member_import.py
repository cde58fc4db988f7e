"""Member CSV import (preview, all-or-nothing, "only the valid rows", encodings and delimiters, the
kept upload) and the member list export (content, headers, formula injection).

Users are made with locale "en", so the assertions read the English messages.
"""
from __future__ import annotations

import csv
import io
import re
from pathlib import Path

import pytest
from sqlalchemy import func, select
from werkzeug.datastructures import FileStorage
from werkzeug.test import encode_multipart

from app.auth.models import User
from app.core.audit import AuditEvent
from app.core.jobs import Outbox
from app.core.tenancy import network_context
from app.extensions import db
from app.networks.models import Discipline, Membership, MembershipDiscipline, Network, Role
from tests.conftest import login_as, make_member, make_network

HEADER = "name;email;disciplines;agb;big;practice;address;postcode;town;phone;listed;verwijsgids_url"
VALID_ROWS = [
    "Sanne Bakker;sanne@example.nl;Diëtist|Psycholoog;12345678;19012345601;Diëtistenpraktijk Spaarne;"
    "Spaarne 12;2011ab;Haarlem;023 123 4567;ja;https://www.verwijsgidskanker.nl/sanne",
    "Joost Visser;JOOST@example.nl;fysiotherapeut;87654321;;Fysio Zuid;;;Heemstede;;nee;",
    "Fatima El Amrani;fatima@example.nl;Psychologist, maatschappelijk_werker;;;;;;;;;",
]


def member(network: Network, email: str, *, role: Role = Role.MEMBER, name: str | None = None) -> Membership:
    return make_member(network, email, role=role, name=name, locale="en", password=None, mfa=False)


@pytest.fixture
def upload_dir(app, tmp_path, monkeypatch):
    monkeypatch.setitem(app.config, "UPLOAD_DIR", str(tmp_path))
    return tmp_path


@pytest.fixture
def noord():
    return make_network("noord", name="Netwerk Noord")


@pytest.fixture
def coordinator(noord):
    return member(noord, "coo@example.nl", role=Role.COORDINATOR, name="Carla Coordinator")


@pytest.fixture
def coo_client(client, coordinator, upload_dir):
    return login_as(client, coordinator.user)


def csv_bytes(*rows: str, header: str = HEADER, encoding: str = "utf-8", bom: bool = False) -> bytes:
    text = "\r\n".join((header, *rows)) + "\r\n"
    return (b"\xef\xbb\xbf" if bom else b"") + text.encode(encoding)


def upload(client, content: bytes, filename: str = "leden.csv", slug: str = "noord"):
    # Encoded here, in memory: the test client would spool a large body to a temp file it never closes.
    boundary, body = encode_multipart({"csrf_token": client.csrf_token(),
                                       "file": FileStorage(io.BytesIO(content), filename, content_type="text/csv")})
    return client.post(f"/n/{slug}/members/import", data=body,
                       content_type=f"multipart/form-data; boundary={boundary}")


def token_of(response) -> str:
    match = re.search(r'name="token" value="([^"]*)"', response.get_data(as_text=True))
    assert match, response.get_data(as_text=True)[:3000]
    return match.group(1)


def confirm(client, token: str, mode: str = "all", slug: str = "noord"):
    return client.post(f"/n/{slug}/members/import/confirm", data={"token": token, "mode": mode})


def preview_rows(response) -> dict[str, str]:
    """{email cell: check cell} of the preview table."""
    html = response.get_data(as_text=True)
    rows = re.findall(r"<tr class=\"row-(?:ok|error)\">(.*?)</tr>", html, re.S)
    cells = [re.findall(r"<td[^>]*>(.*?)</td>", row, re.S) for row in rows]
    return {c[2]: re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", c[5])).strip() for c in cells}


def emails_in(network: Network) -> set[str]:
    db.session.expire_all()
    with network_context(network.id):
        return set(db.session.scalars(select(User.email).join(Membership, Membership.user_id == User.id)))


def membership_by_email(network: Network, email: str) -> Membership:
    db.session.expire_all()
    with network_context(network.id):
        return db.session.scalar(select(Membership).join(Membership.user).where(User.email == email))


def codes_of(network: Network, membership_id: int) -> set[str]:
    with network_context(network.id):
        return set(db.session.scalars(select(Discipline.code).join(
            MembershipDiscipline, MembershipDiscipline.discipline_id == Discipline.id).where(
            MembershipDiscipline.membership_id == membership_id)))


def mails() -> list[Outbox]:
    db.session.expire_all()
    return list(db.session.scalars(select(Outbox).where(Outbox.kind == "mail")))


def stored_files(upload_dir: Path) -> list[Path]:
    return sorted(upload_dir.glob("imports/*/*.csv"))


# --- a valid file -------------------------------------------------------------------------------

def test_a_valid_file_is_previewed_without_writing_and_imported_on_confirmation(noord, coo_client, upload_dir):
    response = upload(coo_client, csv_bytes(*VALID_ROWS, bom=True))
    assert response.status_code == 200, response.get_data(as_text=True)[:3000]
    assert preview_rows(response) == {"sanne@example.nl": "OK", "JOOST@example.nl": "OK",
                                      "fatima@example.nl": "OK"}
    html = response.get_data(as_text=True)
    assert "Import 3 members and send the invitations" in html and "Read as UTF-8" in html
    # Nothing is written yet; the file waits on the server, named by the token.
    assert emails_in(noord) == {"coo@example.nl"} and mails() == []
    token = token_of(response)
    assert re.fullmatch(r"[0-9a-f]{32}", token)
    assert stored_files(upload_dir) == [upload_dir / "imports" / str(noord.id) / f"{token}.csv"]

    done = confirm(coo_client, token)
    assert done.status_code == 302 and done.headers["Location"].endswith("/n/noord/members")
    assert emails_in(noord) == {"coo@example.nl", "sanne@example.nl", "joost@example.nl", "fatima@example.nl"}

    sanne = membership_by_email(noord, "sanne@example.nl")
    assert sanne.user.full_name == "Sanne Bakker" and sanne.role is Role.MEMBER and sanne.is_active
    assert (sanne.agb_code, sanne.big_number, sanne.practice_name, sanne.address, sanne.postcode, sanne.city,
            sanne.phone) == ("12345678", "19012345601", "Diëtistenpraktijk Spaarne", "Spaarne 12", "2011 AB",
                             "Haarlem", "023 123 4567")
    assert sanne.is_listed_in_verwijsgids and sanne.verwijsgids_url == "https://www.verwijsgidskanker.nl/sanne"
    assert codes_of(noord, sanne.id) == {"dietist", "psycholoog"}
    joost = membership_by_email(noord, "joost@example.nl")
    assert joost.agb_code == "87654321" and joost.big_number is None and not joost.is_listed_in_verwijsgids
    fatima = membership_by_email(noord, "fatima@example.nl")
    assert codes_of(noord, fatima.id) == {"psycholoog", "maatschappelijk_werker"} and fatima.agb_code is None

    # One invitation each, exactly as the invite form sends it.
    sent = mails()
    assert sorted(m.payload["to"] for m in sent) == ["fatima@example.nl", "joost@example.nl", "sanne@example.nl"]
    assert {m.payload["template"] for m in sent} == {"invitation"} and {m.network_id for m in sent} == {noord.id}
    created = db.session.scalars(select(AuditEvent).where(AuditEvent.event == "membership.created")).all()
    assert sorted(e.object_id for e in created) == sorted([sanne.id, joost.id, fatima.id])
    [summary] = db.session.scalars(select(AuditEvent).where(AuditEvent.event == "membership.imported")).all()
    assert summary.object_type == "membership" and summary.network_id == noord.id
    assert "3 invited, 0 rows skipped" in summary.reason
    assert stored_files(upload_dir) == []  # deleted after the import
    assert confirm(coo_client, token).status_code == 302  # a second confirmation imports nothing
    assert len(mails()) == 3


def test_comma_separated_with_quoted_discipline_lists(noord, coo_client):
    header = HEADER.replace(";", ",")
    content = csv_bytes('Sanne Bakker,sanne@example.nl,"dietist,psycholoog",12345678,,,,"2011 AB",Haarlem,,yes,'
                        'https://example.nl/s',
                        'Joost Visser,joost@example.nl,Fysiotherapeut,,,,,,,,no,', header=header)
    response = upload(coo_client, content)
    assert preview_rows(response) == {"sanne@example.nl": "OK", "joost@example.nl": "OK"}
    assert "separated by “,”" in response.get_data(as_text=True)
    assert confirm(coo_client, token_of(response)).status_code == 302
    sanne = membership_by_email(noord, "sanne@example.nl")
    assert codes_of(noord, sanne.id) == {"dietist", "psycholoog"} and sanne.postcode == "2011 AB"
    assert codes_of(noord, membership_by_email(noord, "joost@example.nl").id) == {"fysiotherapeut"}


def test_semicolon_separated_with_commas_inside_values(noord, coo_client):
    content = csv_bytes("Bakker, Sanne;sanne@example.nl;Diëtist, Psycholoog;;;Praktijk, Haarlem;;;;;;")
    response = upload(coo_client, content)
    assert "separated by “;”" in response.get_data(as_text=True)
    assert confirm(coo_client, token_of(response)).status_code == 302
    sanne = membership_by_email(noord, "sanne@example.nl")
    assert sanne.user.full_name == "Bakker, Sanne" and sanne.practice_name == "Praktijk, Haarlem"
    assert codes_of(noord, sanne.id) == {"dietist", "psycholoog"}


@pytest.mark.parametrize("encoding, bom, label", [("utf-8", False, "UTF-8"), ("utf-8", True, "UTF-8"),
                                                  ("cp1252", False, "Windows-1252")])
def test_utf8_with_and_without_bom_and_windows_1252_read_the_same(noord, coo_client, encoding, bom, label):
    content = csv_bytes("Ömer Çelik;omer@example.nl;Diëtist;;;Diëtistenpraktijk Dröge;Kerkstraat 1;;\u2019s-Gravenhage;;;",
                        encoding=encoding, bom=bom)
    if encoding == "cp1252":
        assert "Diëtist".encode("cp1252") in content and b"\xc3\xab" not in content  # really not UTF-8
    response = upload(coo_client, content)
    html = response.get_data(as_text=True)
    assert preview_rows(response) == {"omer@example.nl": "OK"}, html[:3000]
    assert f"Read as {label}" in html and "Ömer Çelik" in html and "Dietician" in html
    assert confirm(coo_client, token_of(response)).status_code == 302
    omer = membership_by_email(noord, "omer@example.nl")
    assert omer.user.full_name == "Ömer Çelik" and omer.practice_name == "Diëtistenpraktijk Dröge"
    assert omer.city == "\u2019s-Gravenhage" and codes_of(noord, omer.id) == {"dietist"}


def test_headings_in_dutch_and_in_another_order_and_blank_rows(noord, coo_client):
    content = csv_bytes("sanne@example.nl;Sanne Bakker;Haarlem;Diëtist", ";;;", "",
                        header="E-mail;Naam;Woonplaats;Discipline")
    response = upload(coo_client, content)
    assert preview_rows(response) == {"sanne@example.nl": "OK"}
    assert confirm(coo_client, token_of(response)).status_code == 302
    sanne = membership_by_email(noord, "sanne@example.nl")
    assert sanne.user.full_name == "Sanne Bakker" and sanne.city == "Haarlem"


# --- invalid rows -------------------------------------------------------------------------------

INVALID_FILE = [
    *VALID_ROWS[:2],
    "Geen Mail;;dietist;;;;;;;;;",                                     # row 4
    "Kees Kort;kees@example.nl;dietist;1234567;;;;;;;;",               # row 5
    "Tineke Tand;tineke@example.nl;Tandarts;;;;;;;;;",                 # row 6
    "Sanne Dubbel;SANNE@example.nl;dietist;;;;;;;;;",                  # row 7
    "Carla Weer;coo@example.nl;casemanager;;;;;;;;;",                  # row 8
    "Lies Lijst;lies@example.nl;dietist;;;;;;;;ja;",                   # row 9
    "Piet Post;piet@example.nl;dietist;;1234;;;12345;;;misschien;",    # row 10
    "Mail Fout;geen-email;dietist;;;;;;;;;",                           # row 11
    ";naam@example.nl;;;;;;;;;;",                                      # row 12
]


def test_every_invalid_row_is_explained_in_plain_words_and_nothing_is_written(noord, coordinator, coo_client,
                                                                              upload_dir):
    response = upload(coo_client, csv_bytes(*INVALID_FILE))
    assert response.status_code == 200
    rows = preview_rows(response)
    assert rows["sanne@example.nl"] == "OK" and rows["JOOST@example.nl"] == "OK"
    assert rows[""] == "The email address is missing."
    assert rows["kees@example.nl"] == "The AGB code must be exactly 8 digits, not “1234567”."
    assert rows["tineke@example.nl"] == "Unknown discipline: “Tandarts”."
    assert rows["SANNE@example.nl"] == "The same email address is also on row 2."
    assert rows["coo@example.nl"] == "coo@example.nl is already a member of this network."
    assert rows["lies@example.nl"] == "A member listed in the Verwijsgids Kanker needs the link to the listing."
    assert "The BIG number must be exactly 11 digits, not “1234”." in rows["piet@example.nl"]
    assert "“12345” is not a Dutch postcode like 1234 AB." in rows["piet@example.nl"]
    assert "“Listed” must be ja, nee, yes or no, not “misschien”." in rows["piet@example.nl"]
    assert rows["geen-email"] == "“geen-email” is not a valid email address."
    assert rows["naam@example.nl"] == "The name is missing."
    html = response.get_data(as_text=True)
    assert "<td>4</td>" in html and "<td>12</td>" in html  # spreadsheet row numbers (the heading is row 1)
    assert "9 have errors" in html and 'value="all"' not in html
    assert "Import only the 2 valid rows" in html

    # Forcing "all" with errors in the file writes nothing.
    token = token_of(response)
    refused = confirm(coo_client, token, mode="all")
    assert refused.status_code == 200
    assert "Nothing was imported" in refused.get_data(as_text=True)
    assert emails_in(noord) == {"coo@example.nl"} and mails() == []
    assert not db.session.scalar(select(func.count()).select_from(User).where(User.email == "sanne@example.nl"))
    assert len(stored_files(upload_dir)) == 1  # kept: the coordinator may still choose the valid rows


def test_import_only_the_valid_rows_when_the_coordinator_chooses_so(noord, coordinator, coo_client, upload_dir):
    response = upload(coo_client, csv_bytes(*INVALID_FILE))
    done = confirm(coo_client, token_of(response), mode="valid")
    assert done.status_code == 302
    assert emails_in(noord) == {"coo@example.nl", "sanne@example.nl", "joost@example.nl"}
    # The first of two rows with the same address was imported, with its own name.
    assert membership_by_email(noord, "sanne@example.nl").user.full_name == "Sanne Bakker"
    assert sorted(m.payload["to"] for m in mails()) == ["joost@example.nl", "sanne@example.nl"]
    summary = db.session.scalar(select(AuditEvent).where(AuditEvent.event == "membership.imported"))
    assert "2 invited, 9 rows skipped" in summary.reason
    assert stored_files(upload_dir) == []
    assert "2 members are invited. 9 rows were skipped." in coo_client.get("/n/noord/members").get_data(
        as_text=True)


def test_a_file_with_no_valid_row_cannot_be_imported(noord, coo_client):
    response = upload(coo_client, csv_bytes(INVALID_FILE[2], INVALID_FILE[3]))
    assert "No row can be imported" in response.get_data(as_text=True)
    assert 'name="mode"' not in response.get_data(as_text=True)
    assert confirm(coo_client, token_of(response), mode="valid").status_code == 200
    assert emails_in(noord) == {"coo@example.nl"} and mails() == []


def test_rows_are_checked_again_at_confirmation(noord, coo_client):
    response = upload(coo_client, csv_bytes(*VALID_ROWS))
    member(noord, "joost@example.nl")  # joined in the meantime
    refused = confirm(coo_client, token_of(response), mode="all")
    assert refused.status_code == 200
    assert "joost@example.nl is already a member of this network." in refused.get_data(as_text=True)
    assert emails_in(noord) == {"coo@example.nl", "joost@example.nl"} and mails() == []


# --- the file as a whole ------------------------------------------------------------------------

def error_of(response) -> str:
    match = re.search(r'<p class="error" id="file-err">(.*?)</p>', response.get_data(as_text=True), re.S)
    return match.group(1) if match else ""


def test_a_file_over_2_mb_is_refused_with_a_clear_message(noord, coo_client, upload_dir):
    row = "Naam;naam{:06d}@example.nl;dietist;;;" + "x" * 150 + ";;;;;;"
    content = csv_bytes(*(row.format(i) for i in range(12_500)))
    assert len(content) > 2 * 1024 * 1024
    response = upload(coo_client, content)
    assert response.status_code == 200
    assert error_of(response) == "The file is larger than 2 MB. Split it into smaller files."
    assert stored_files(upload_dir) == []
    assert emails_in(noord) == {"coo@example.nl"}


@pytest.mark.parametrize("content, message", [
    (b"", "The file is empty."),
    (b"  \r\n", "The file is empty."),
    (b"naam;telefoon\r\nSanne;0612345678\r\n", "The first row must name the columns; missing: email."),
    (HEADER.encode() + b"\r\n", "The file has a heading row but no members."),
    (b"PK\x03\x04\x00\x00binary", "This file cannot be read as text."),
    ("name;email\r\nA;a@example.nl\r\n".encode("utf-16"), "This file cannot be read as text."),
])
def test_unreadable_files_are_refused_with_a_clear_message(noord, coo_client, upload_dir, content, message):
    response = upload(coo_client, content)
    assert response.status_code == 200
    assert message in error_of(response), response.get_data(as_text=True)[:3000]
    assert stored_files(upload_dir) == [] and emails_in(noord) == {"coo@example.nl"}


def test_a_post_without_a_file_asks_for_one(noord, coo_client, upload_dir):
    response = coo_client.post("/n/noord/members/import", data={})
    assert response.status_code == 200 and error_of(response) == "Choose a CSV file."


@pytest.mark.parametrize("token", ["", "0" * 32, "../../../etc/passwd", "ABCDEF0123456789ABCDEF0123456789", "0" * 31,
                                   "0" * 32 + "/x", "g" * 32])
def test_a_token_that_is_not_a_known_hex_name_imports_nothing(noord, coo_client, upload_dir, token):
    upload(coo_client, csv_bytes(*VALID_ROWS))
    response = confirm(coo_client, token)
    assert response.status_code == 302 and response.headers["Location"].endswith("/n/noord/members/import")
    assert emails_in(noord) == {"coo@example.nl"} and mails() == []
    assert len(stored_files(upload_dir)) == 1


def test_an_upload_of_another_network_cannot_be_imported(noord, coo_client, upload_dir, new_client):
    zuid = make_network("zuid")
    zuid_coo = member(zuid, "zuid-coo@example.nl", role=Role.COORDINATOR)
    other = login_as(new_client(), zuid_coo.user)
    token = token_of(upload(other, csv_bytes(*VALID_ROWS), slug="zuid"))
    assert (upload_dir / "imports" / str(zuid.id) / f"{token}.csv").is_file()

    response = confirm(coo_client, token)  # noord's coordinator with zuid's token
    assert response.status_code == 302 and response.headers["Location"].endswith("/n/noord/members/import")
    assert emails_in(noord) == {"coo@example.nl"} and emails_in(zuid) == {"zuid-coo@example.nl"}
    assert (upload_dir / "imports" / str(zuid.id) / f"{token}.csv").is_file()


def test_members_cannot_import_or_export(noord, coordinator, client, upload_dir):
    plain = member(noord, "lid@example.nl")
    login_as(client, plain.user)
    assert client.get("/n/noord/members/import").status_code == 404
    assert upload(client, csv_bytes(*VALID_ROWS)).status_code == 404
    assert confirm(client, "0" * 32).status_code == 404
    assert client.get("/n/noord/members/export.csv").status_code == 404
    assert stored_files(upload_dir) == [] and emails_in(noord) == {"coo@example.nl", "lid@example.nl"}


def test_import_without_csrf_token_is_refused(noord, coo_client, upload_dir):
    response = coo_client.post("/n/noord/members/import", data={"file": (io.BytesIO(csv_bytes(*VALID_ROWS)),
                                                                          "leden.csv")}, csrf=False)
    assert response.status_code == 400 and stored_files(upload_dir) == []
    token = token_of(upload(coo_client, csv_bytes(*VALID_ROWS)))
    response = coo_client.post("/n/noord/members/import/confirm", data={"token": token, "mode": "all"}, csrf=False)
    assert response.status_code == 400 and emails_in(noord) == {"coo@example.nl"}


# --- export -------------------------------------------------------------------------------------

def test_export_is_a_semicolon_csv_with_bom_as_an_attachment(noord, coordinator, coo_client):
    sanne = member(noord, "sanne@example.nl", name="Sanne Bakker")
    with network_context(noord.id):
        row = db.session.get(Membership, sanne.id)
        row.agb_code, row.postcode, row.city, row.practice_name = "01234567", "2011 AB", "Haarlem", "Diëtist & Co"
        row.is_listed_in_verwijsgids, row.verwijsgids_url = True, "https://example.nl/sanne"
        db.session.add(MembershipDiscipline(network_id=noord.id, membership_id=sanne.id, discipline_id=db.session.scalar(
            select(Discipline.id).where(Discipline.code == "dietist"))))
        gone = db.session.get(Membership, member(noord, "weg@example.nl", name="Willem Weg").id)
        gone.deactivate()
        db.session.commit()

    response = coo_client.get("/n/noord/members/export.csv")
    assert response.status_code == 200
    assert response.mimetype == "text/csv" and response.mimetype_params.get("charset") == "utf-8"
    disposition = response.headers["Content-Disposition"]
    assert disposition.startswith("attachment;") and re.search(r'filename="members-noord-[0-9-]+\.csv"', disposition)
    assert "no-store" in response.headers.get("Cache-Control", "")
    raw = response.get_data()
    assert raw.startswith(b"\xef\xbb\xbf")
    rows = list(csv.reader(io.StringIO(raw[3:].decode("utf-8"), newline=""), delimiter=";"))
    assert rows[0][:5] == ["name", "email", "role", "active", "disciplines"]
    by_email = {r[1]: dict(zip(rows[0], r, strict=True)) for r in rows[1:]}
    assert set(by_email) == {"coo@example.nl", "sanne@example.nl", "weg@example.nl"}
    s = by_email["sanne@example.nl"]
    assert (s["name"], s["disciplines"], s["agb"], s["postcode"], s["town"], s["practice"], s["listed"],
            s["verwijsgids_url"], s["active"]) == ("Sanne Bakker", "dietist", "01234567", "2011 AB", "Haarlem",
                                                    "Diëtist & Co", "yes", "https://example.nl/sanne", "yes")
    assert by_email["weg@example.nl"]["active"] == "no" and by_email["coo@example.nl"]["role"] == "coordinator"
    assert raw.count(b"\r\n") == 4
    event = db.session.scalar(select(AuditEvent).where(AuditEvent.event == "membership.exported"))
    assert event is not None and str(event.action) == "E" and event.object_type == "membership"
    assert event.user_id == coordinator.user_id and event.network_id == noord.id


def test_export_disarms_spreadsheet_formulas(noord, coordinator, coo_client):
    evil = member(noord, "evil@example.nl", name='=HYPERLINK("https://evil.example","klik")')
    with network_context(noord.id):
        row = db.session.get(Membership, evil.id)
        row.practice_name, row.address, row.city, row.phone = "+SUM(A1:A9)", "-2+3", "@cmd", "+31 23 123 4567"
        db.session.commit()
    raw = coo_client.get("/n/noord/members/export.csv").get_data()
    rows = list(csv.reader(io.StringIO(raw[3:].decode("utf-8"), newline=""), delimiter=";"))
    e = dict(zip(rows[0], next(r for r in rows if r[1] == "evil@example.nl"), strict=True))
    assert e["name"] == '\'=HYPERLINK("https://evil.example","klik")'
    assert (e["practice"], e["address"], e["town"], e["phone"]) == (
        "'+SUM(A1:A9)", "'-2+3", "'@cmd", "'+31 23 123 4567")
    assert not any(cell[:1] in "=+-@" for r in rows for cell in r if cell)


def test_an_export_can_be_imported_into_another_network(noord, coordinator, coo_client, new_client, upload_dir):
    member(noord, "sanne@example.nl", name="Sanne Bakker")
    exported = coo_client.get("/n/noord/members/export.csv").get_data()
    zuid = make_network("zuid")
    zuid_coo = member(zuid, "zuid-coo@example.nl", role=Role.COORDINATOR)
    other = login_as(new_client(), zuid_coo.user)
    response = upload(other, exported, slug="zuid")
    assert preview_rows(response) == {"coo@example.nl": "OK", "sanne@example.nl": "OK"}
    assert "These columns are not used and were ignored" in response.get_data(as_text=True)
    assert confirm(other, token_of(response), slug="zuid").status_code == 302
    assert emails_in(zuid) == {"zuid-coo@example.nl", "coo@example.nl", "sanne@example.nl"}
