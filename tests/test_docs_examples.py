"""The examples of docs/fhir-api.md are run: each ```http request block is sent to the app in order, and the
```http response block after it must match the answer: the status, every header shown and every JSON key and
value shown (a dict may hold more keys, a list more items after the shown ones). `<name>` is a placeholder: in an
answer it binds to what the app returned, in a later request (or answer) it stands for that value."""
from __future__ import annotations

import base64
import json
import re
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from app.core.db import utcnow
from app.core.tenancy import network_context
from app.extensions import db
from app.networks.models import ServiceAreaRange
from tests.conftest import make_member, make_network
from tests.fhir_helpers import make_verified_gp, register

ROOT = Path(__file__).resolve().parent.parent
DOCS = ROOT / "docs" / "fhir-api.md"
BLOCK = re.compile(r"^```http (request|response)\n(.*?)^```\s*$", re.S | re.M)
PLACEHOLDER = re.compile(r"<([^<>]+)>")


@dataclass
class Example:
    line: int
    request: str
    response: str


@dataclass
class Bindings:
    values: dict[str, str] = field(default_factory=dict)

    def fill(self, text: str, where: str) -> str:
        """*text* with every placeholder replaced by its bound value (unbound: the example is wrong)."""
        def value(match: re.Match) -> str:
            assert match.group(1) in self.values, f"{where}: <{match.group(1)}> is used before an answer binds it"
            return self.values[match.group(1)]
        return PLACEHOLDER.sub(value, text)

    def match(self, shown: str, actual: str, where: str) -> None:
        """*actual* must be *shown*, a placeholder matching (and binding) any text; a bound one its value."""
        names, pattern = [], ""
        for literal, name in re.findall(r"([^<]*)(?:<([^<>]+)>|$)", shown):
            pattern += re.escape(literal)
            if name:
                if name in self.values:
                    pattern += re.escape(self.values[name])
                else:
                    pattern += f"(?P<g{len(names)}>.+?)"
                    names.append(name)
        found = re.fullmatch(pattern, actual, flags=re.S)
        assert found, f"{where}: shown {shown!r}, got {actual!r}"
        for number, name in enumerate(names):
            self.values.setdefault(name, found.group(f"g{number}"))


def examples(path: Path = DOCS) -> list[Example]:
    text = path.read_text(encoding="utf-8")
    blocks = [(m.group(1), m.group(2), text.count("\n", 0, m.start()) + 1) for m in BLOCK.finditer(text)]
    found = []
    for (kind, body, line), following in zip(blocks, [*blocks[1:], None], strict=True):
        if kind == "request":
            assert following is not None and following[0] == "response", f"{path.name}:{line}: a request without answer"
            found.append(Example(line, body, following[1]))
    assert len(found) == sum(kind == "response" for kind, _, _ in blocks), f"{path.name}: an answer without request"
    return found


def _head_and_body(text: str) -> tuple[list[str], str]:
    head, _, body = text.partition("\n\n")
    return [line for line in head.splitlines() if line.strip()], body.strip()


def send(client, example: Example, bindings: Bindings, base: Path):
    where = f"{DOCS.name}:{example.line}"
    lines, body = _head_and_body(bindings.fill(example.request, where))
    method, target = lines[0].split()[:2]
    headers = dict(line.split(": ", 1) for line in lines[1:])
    if body.startswith("< "):  # a file next to the docs, as in an .http file
        body = (base / body[2:].strip()).read_text(encoding="utf-8")
    return client.open(target, method=method, headers=headers, data=body.encode() if body else None)


def check(response, example: Example, bindings: Bindings) -> None:
    where = f"{DOCS.name}:{example.line}"
    lines, body = _head_and_body(example.response)
    status = int(lines[0].split()[1])
    assert response.status_code == status, f"{where}: {response.status_code} {response.get_data(as_text=True)[:300]}"
    for line in lines[1:]:
        name, shown = line.split(": ", 1)
        assert name in response.headers, f"{where}: no {name} header"
        bindings.match(shown, response.headers[name], f"{where} {name}")
    if body:
        assert_shown(json.loads(body), response.get_json(), bindings, where)
    else:
        assert not response.data, f"{where}: the example shows no body, the answer has one"


def assert_shown(shown, actual, bindings: Bindings, where: str) -> None:
    if isinstance(shown, dict):
        assert isinstance(actual, dict), f"{where}: expected an object, got {actual!r}"
        for key, value in shown.items():
            assert key in actual, f"{where}: no key {key!r} in {sorted(actual)}"
            assert_shown(value, actual[key], bindings, f"{where}.{key}")
    elif isinstance(shown, list):
        assert isinstance(actual, list) and len(actual) >= len(shown), f"{where}: expected {shown!r}, got {actual!r}"
        for number, (item, got) in enumerate(zip(shown, actual, strict=False)):
            assert_shown(item, got, bindings, f"{where}[{number}]")
    elif isinstance(shown, str):
        assert isinstance(actual, str), f"{where}: expected a string, got {actual!r}"
        bindings.match(shown, actual, where)
    else:
        assert shown == actual and type(shown) is type(actual), f"{where}: expected {shown!r}, got {actual!r}"


def _world() -> Bindings:
    """The network of the examples (public, in the directory, with one dietician) and a verified GP's system."""
    network = make_network("noord", name="Oncologienetwerk Noord", approved_at=utcnow(), is_public=True,
                           contact_email="info@noord.example.nl", contact_phone="050 123 4567", kvk_number="12345678")
    make_member(network, "dietist@noord.example.nl", disciplines=("dietist",), name="Dina Diëtist")
    with network_context(network.id):
        db.session.add(ServiceAreaRange(network_id=network.id, first=2011, last=2036))
        db.session.commit()
    api_client, secret = register(make_verified_gp())
    credentials = base64.b64encode(f"{api_client.client_id}:{secret}".encode()).decode()
    return Bindings({"client_id:client_secret in base64": credentials, "your receiver secret": "receiver-secret"})


def test_the_matcher_refuses_what_the_docs_do_not_show():
    bindings = Bindings()
    bindings.match("Task/<task id>", "Task/12", "x")
    assert bindings.values == {"task id": "12"}
    with pytest.raises(AssertionError):
        bindings.match("Task/<task id>", "Task/13", "x")  # bound: it must be the same value again
    assert_shown({"a": [{"b": 1}]}, {"a": [{"b": 1, "c": 2}, {}], "d": 3}, bindings, "x")
    for shown, actual in (({"a": 1}, {"a": 2}), ({"a": 1}, {"b": 1}), ({"a": [1, 2]}, {"a": [1]}),
                          ({"a": 1}, {"a": True}), ({"a": "<task id>"}, {"a": "13"})):
        with pytest.raises(AssertionError):
            assert_shown(shown, actual, bindings, "x")
    with pytest.raises(AssertionError):
        Bindings().fill("GET /Task/<task id>", "x")


def test_the_docs_have_fhir_and_hsds_examples_in_pairs():
    with_examples = {path.relative_to(ROOT).as_posix() for path in ROOT.glob("**/*.md")
                     if ".venv" not in path.parts and "```http request" in path.read_text(encoding="utf-8")}
    assert with_examples == {"docs/fhir-api.md"}, "examples elsewhere would not run: run them here too"
    targets = [example.request.split()[1] for example in examples()]
    assert sum(t.startswith("/fhir/R4/") for t in targets) >= 8
    assert sum(t.startswith("/open/hsds/") for t in targets) >= 6


def test_every_example_request_gets_the_answer_the_docs_show(client):
    bindings = _world()
    for example in examples():
        check(send(client, example, bindings, DOCS.parent), example, bindings)
    assert {"token", "task id", "organization id", "service id", "organizations etag"} <= set(bindings.values)
