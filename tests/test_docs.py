"""The README and docs/ hold what the product does, and their commands run as written.

The README stays a front door (at most README_MAX_LINES lines); every relative link and
#anchor resolves, by GitHub's rules; every Markdown table renders whole (its rows contiguous,
each with the header's cells). The README's quick-start block runs, exactly as written, with
bash against a real server it starts and stops itself; every other `sh` and `sql` block of the
README and docs/ runs against a server started here, as `make run` would serve it. A block
the tests cannot run (minutes long, or needing Citus) is marked in the Markdown by a comment
on the line before it: <!-- not run by tests/test_docs.py: why -->.
"""

import contextlib
import os
import re
import signal
import socket
import subprocess
import sys
import tempfile
from pathlib import Path

import psycopg2
import pytest

from bench.server import free_port
from service.http.auth import hash_token, new_token

from http_helpers import wait_for_health

CHECKOUT = Path(__file__).resolve().parent.parent
README = CHECKOUT / "README.md"
DOCUMENTS = [README, *sorted((CHECKOUT / "docs").glob("*.md"))]
README_MAX_LINES = 250
QUICK_START = "Quick start"
NOT_RUN = "<!-- not run by tests/test_docs.py"
WEBHOOK_KEY = "docs test key"
BLOCK_TIMEOUT_S = 120
QUICK_START_TIMEOUT_S = 600  # make migrate may have to build the venv first


def name(path):
    return str(path.relative_to(CHECKOUT))


class Block:
    def __init__(self, path, line, info, code, marked_not_run):
        self.path, self.line, self.info, self.code, self.marked_not_run = path, line, info, code, marked_not_run

    @property
    def id(self):
        return f"{name(self.path)}:{self.line}"


def parse(path):
    """(prose lines, with fenced blocks blanked so that line numbers hold; the fenced blocks)."""
    lines = path.read_text().splitlines()
    prose, blocks = list(lines), []
    fence = None
    for number, line in enumerate(lines):
        if fence is None:
            match = re.match(r"^(```+|~~~+)\s*(\S*)", line)
            if match:
                fence, info, start = match.group(1), match.group(2), number
                prose[number] = ""
        else:
            prose[number] = ""
            if line.startswith(fence) and not line[len(fence) :].strip():
                before = next((text for text in reversed(lines[:start]) if text.strip()), "")
                code = "\n".join(lines[start + 1 : number]) + "\n"
                blocks.append(Block(path, start + 1, info, code, before.startswith(NOT_RUN)))
                fence = None
    assert fence is None, f"{name(path)}: a code block is never closed"
    return prose, blocks


def headings(prose):
    """(level, text, line index) of each ATX heading."""
    found = []
    for index, line in enumerate(prose):
        match = re.match(r"^(#{1,6})\s+(.*?)\s*#*\s*$", line)
        if match:
            found.append((len(match.group(1)), match.group(2), index))
    return found


def slug(heading):
    """GitHub's anchor of a heading: lower case, punctuation dropped, spaces to hyphens."""
    text = re.sub(r"\[([^\]]*)\]\([^)]*\)", r"\1", heading)  # a link: its text
    return re.sub(r"[^\w\- ]", "", text.strip().lower()).replace(" ", "-")


def anchors(path):
    seen, result = {}, set()
    for _, text, _ in headings(parse(path)[0]):
        base = slug(text)
        count = seen.get(base, 0)
        seen[base] = count + 1
        result.add(base if count == 0 else f"{base}-{count}")
    return result


def links(prose):
    """(line number, target) of each inline link, outside code."""
    for index, line in enumerate(prose):
        line = re.sub(r"`+[^`]*`+", "", line)
        for match in re.finditer(r"\]\(([^)\s]+)(?:\s+\"[^\"]*\")?\)", line):
            yield index + 1, match.group(1)


def cells(row):
    """The cells of a table row: split on pipes not escaped, as GitHub splits them."""
    parts = re.split(r"(?<!\\)\|", row.strip())
    if parts and not parts[0].strip():
        parts = parts[1:]
    if parts and not parts[-1].strip():
        parts = parts[:-1]
    return parts


SEPARATOR = re.compile(r"^\|?\s*:?-+:?\s*(\|\s*:?-+:?\s*)*\|?\s*$")


def runnable_blocks():
    blocks = []
    for path in DOCUMENTS:
        for block in parse(path)[1]:
            if block.info in ("sh", "sql") and not block.marked_not_run and block.id != quick_start_block().id:
                blocks.append(block)
    return blocks


_quick_start = []


def quick_start_block():
    """The first sh block under the README's quick-start heading."""
    if not _quick_start:
        prose, blocks = parse(README)
        found = [(index, level) for level, text, index in headings(prose) if text == QUICK_START]
        assert found, f"the README has no {QUICK_START!r} heading"
        start, level = found[0]
        end = next((index for lvl, _, index in headings(prose) if index > start and lvl <= level), len(prose))
        block = next((b for b in blocks if start < b.line - 1 < end and b.info == "sh"), None)
        assert block is not None, f"the README's {QUICK_START} has no sh block"
        _quick_start.append(block)
    return _quick_start[0]


def test_the_readme_is_short():
    lines = len(README.read_text().splitlines())
    assert lines <= README_MAX_LINES, f"README.md has {lines} lines; docs/ takes the rest"


@pytest.mark.parametrize("path", DOCUMENTS, ids=name)
def test_every_relative_link_and_anchor_resolves(path):
    dead = []
    for line, target in links(parse(path)[0]):
        if re.match(r"^[a-z][a-z0-9+.-]*:", target):  # https:, mailto:
            continue
        file_part, _, anchor = target.partition("#")
        linked = (path.parent / file_part).resolve() if file_part else path
        if not linked.exists():
            dead.append(f"{line}: {target} (no such file)")
        elif anchor and (linked.suffix != ".md" or anchor not in anchors(linked)):
            dead.append(f"{line}: {target} (no such heading in {linked.name})")
    assert not dead, f"{name(path)}: dead links:\n" + "\n".join(dead)


@pytest.mark.parametrize("path", DOCUMENTS, ids=name)
def test_every_table_renders_whole(path):
    """Each table's rows follow its header without a break, each with the header's cells:
    a row after a blank line renders as text."""
    prose = parse(path)[0]
    problems, columns = [], None
    for index, line in enumerate(prose):
        if not line.startswith("|"):
            columns = None
            continue
        if columns is None:
            following = prose[index + 1] if index + 1 < len(prose) else ""
            if not SEPARATOR.match(following):
                problems.append(f"{index + 1}: a table row with no header above it (a blank line in a table?)")
                continue
            columns = len(cells(line))
        elif len(cells(line)) != columns:
            problems.append(f"{index + 1}: {len(cells(line))} cells, the header has {columns}")
    assert not problems, f"{name(path)}:\n" + "\n".join(problems)


def test_make_targets_named_in_the_docs_exist():
    targets = set(re.findall(r"^([\w-]+):", (CHECKOUT / "Makefile").read_text(), re.MULTILINE))
    assert "make test" in README.read_text(), "the README must name the test command .ci/run calls"
    for path in DOCUMENTS:
        for block in parse(path)[1]:
            for target in re.findall(r"(?:^|[\s;&|(])make\s+([\w-]+)", block.code):
                assert target in targets, f"{block.id}: make {target}: no such target"


def test_every_metric_is_in_the_operations_metrics_table():
    source = (CHECKOUT / "service" / "http" / "metrics.py").read_text()
    counters = set(re.findall(r'Counter\(\s*"(wcsync_\w+)"', source))
    documented = (CHECKOUT / "docs" / "operations.md").read_text()
    for metric in set(re.findall(r'"(wcsync_\w+)"', source)):
        shown = f"{metric}_total" if metric in counters else metric
        assert f"| `{shown}` |" in documented, f"{shown} is not in docs/operations.md's metrics table"


def port_open(port):
    with socket.socket() as sock:
        return sock.connect_ex(("127.0.0.1", port)) == 0


def run_script(args, env, timeout, stdin=None):
    """Runs args in a process group of its own, killed whole if it outlives timeout."""
    process = subprocess.Popen(
        args,
        cwd=CHECKOUT,
        env=env,
        stdin=subprocess.PIPE if stdin is not None else subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    try:
        out, err = process.communicate(stdin, timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        out, err = process.communicate()
        pytest.fail(f"{args[:3]} took over {timeout} s:\n{out}\n{err}")
    finally:
        with contextlib.suppress(ProcessLookupError):  # nothing the script started outlives it
            os.killpg(process.pid, signal.SIGKILL)
    return process.returncode, out, err


@pytest.fixture(scope="module")
def data_dir():
    """DATA_DIR for what the blocks start: never the checkout's .data (DATABASE_URL is set anyway)."""
    with tempfile.TemporaryDirectory(prefix="wcsync-docs-test-") as path:
        yield path


def block_env(database_url, port, data_dir):
    env = {key: value for key, value in os.environ.items() if key not in ("WEBHOOK_KEY", "LOG_FORMAT")}
    env.update(DATABASE_URL=database_url, PORT=str(port), DATA_DIR=data_dir)
    return env


def test_the_readme_quick_start_runs_as_written(database_url, data_dir):
    """The block is run as it stands: it starts the server, waits for it, creates a store, sends
    a batch, queries it, and stops the server; this test only chooses the database and the port."""
    block, port = quick_start_block(), free_port()
    status, out, err = run_script(
        ["bash", "-eo", "pipefail", "-c", block.code], block_env(database_url, port, data_dir), QUICK_START_TIMEOUT_S
    )
    assert status == 0, f"{block.id} failed ({status}):\n{out}\n{err}"
    assert '"syncedCount": 1' in out and "Blue Widget" in out, out
    assert not port_open(port), "the quick start must leave no server running"


@pytest.fixture(scope="module")
def server(database_url, data_dir):
    """The service on a free port, as make run serves it, with a store for the blocks that
    query the store created last (a reader has the quick start's)."""
    conn = psycopg2.connect(database_url)
    conn.autocommit = True
    with conn.cursor() as cur:
        cur.execute("SELECT create_store('Demo store', %s)", (hash_token(new_token()),))
    conn.close()
    port = free_port()
    env = {**block_env(database_url, port, data_dir), "WEBHOOK_KEY": WEBHOOK_KEY}
    process = subprocess.Popen(
        [sys.executable, "-m", "service", "serve"],
        cwd=CHECKOUT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    try:
        wait_for_health(f"http://127.0.0.1:{port}", process, timeout=30)
        yield env
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=40)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()


@pytest.mark.parametrize("block", runnable_blocks(), ids=lambda block: block.id)
def test_every_other_block_runs_as_written(block, server):
    """sh blocks with bash, sql blocks with psql, against the running server; an error code
    in an answer must be one the block names (it shows that error on purpose)."""
    if block.info == "sh":
        status, out, err = run_script(["bash", "-eo", "pipefail", "-c", block.code], server, BLOCK_TIMEOUT_S)
    else:
        command = [sys.executable, "-m", "service", "psql", "-X", "-v", "ON_ERROR_STOP=1", "-f", "-"]
        status, out, err = run_script(command, server, BLOCK_TIMEOUT_S, stdin=block.code)
    assert status == 0, f"{block.id} failed ({status}):\n{out}\n{err}"
    for code in re.findall(r'"code": "(\w+)"', out):
        assert code in block.code, f"{block.id}: answered {code}, which the block does not mention:\n{out}"
