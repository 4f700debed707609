"""backup_database / restore_database: the whole database back, schema and rows, on the pass's backend."""

from __future__ import annotations

import hashlib
import json
import re

import pytest

from helpers.notebook.sandbox import Sandbox


def everything(sb: Sandbox) -> dict:
    """Every table's rows (every value), and on MySQL its whole definition too (keys, AUTO_INCREMENT)."""
    tables = sb.tables().column("table")
    found = {
        t: hashlib.sha256(json.dumps([list(map(str, r)) for r in sb.rows(t).rows]).encode()).hexdigest()
        for t in tables
    }
    if sb.backend == "mysql":
        for t in tables:
            found[f"{t} (definition)"] = sb.query(f"SHOW CREATE TABLE `{t}`").rows[0][1]
    return found


@pytest.fixture
def loaded():
    with Sandbox(["oldapp", "newapp", "garage"]) as sb:
        sb.run("migrate", "-v0").check()
        sb.run("loaddata", "oldapp", "garage").check()
        yield sb


def test_restore_brings_back_schema_and_rows_and_can_be_repeated(loaded):
    sb = loaded
    before = everything(sb)
    made = sb.run("backup_database", "before_move")
    assert made.ok, made
    for _ in range(2):
        sb.run("migrate", "garage", "zero", "-v0").check()
        sb.query("DELETE FROM oldapp_rental")
        assert "garage_note" not in sb.tables().column("table")
        restored = sb.run("restore_database", "before_move")
        assert restored.ok, restored
        assert everything(sb) == before
    # The restored database keeps working: new rows get new ids.
    sb.shell("from oldapp.models import Feature\nFeature.objects.create(name='GPS')").check()
    assert sb.count("oldapp_feature") == 4
    assert sb.run("backup_database", "before_move", "--delete").ok
    assert sb.run("restore_database", "before_move").returncode == 1


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["restore_database", "nothing"], "No backup named 'nothing'"),
        (["backup_database", "Bad-Name"], "Backup name 'Bad-Name' is not allowed"),
        (["restore_database", "x; DROP TABLE oldapp_car"], "is not allowed"),
    ],
)
def test_bad_names_are_refused_and_nothing_changes(loaded, args, message):
    before = everything(loaded)
    result = loaded.run(*args)
    assert result.returncode == 1
    assert message in result.stderr
    assert everything(loaded) == before


def test_an_existing_backup_is_not_overwritten_unless_asked(loaded):
    sb = loaded
    sb.run("backup_database", "snap").check()
    sb.query("DELETE FROM oldapp_rental")
    again = sb.run("backup_database", "snap")
    assert again.returncode == 1 and "already exists" in again.stderr
    sb.run("restore_database", "snap").check()
    assert sb.count("oldapp_rental") == 3  # the first backup was kept
    sb.query("DELETE FROM oldapp_rental")
    sb.run("backup_database", "snap", "--replace").check()
    sb.run("restore_database", "snap").check()
    assert sb.count("oldapp_rental") == 0
    sb.run("backup_database", "snap", "--delete").check()


# --- helpers of the tests below ---------------------------------------------------------------

SQLITE_ONLY = "SQLite's file format (the PostgreSQL pass tests its own backups below)"
PG_ONLY = "a PostgreSQL server (runs in the PostgreSQL pass)"


def pg_admin(sb: Sandbox):
    """An autocommit psycopg connection to the sandbox's server (maintenance database)."""
    import psycopg

    return psycopg.connect(sb.db.server_url, autocommit=True)


def pg_databases(sb: Sandbox) -> list[str]:
    with pg_admin(sb) as admin:
        rows = admin.execute(
            "SELECT datname FROM pg_database WHERE datname LIKE %s ORDER BY 1",
            [sb.db.name.replace("_", r"\_") + "%"],
        ).fetchall()
    return [r[0] for r in rows]


MYSQL_ONLY = "a MySQL server (runs in the MySQL pass)"


def mysql_admin(sb: Sandbox):
    """An autocommit MySQLdb connection to the sandbox's server (no database chosen)."""
    import MySQLdb

    from helpers.notebook.sandbox import _mysql_conninfo

    info = _mysql_conninfo(sb.db.url)
    info.pop("database", None)
    return MySQLdb.connect(**info, autocommit=True)


def mysql_databases(sb: Sandbox) -> list[str]:
    admin = mysql_admin(sb)
    try:
        cursor = admin.cursor()
        cursor.execute("SHOW DATABASES LIKE %s", [sb.db.name.replace("_", r"\_") + "%"])
        return sorted(r[0] for r in cursor.fetchall())
    finally:
        admin.close()


def mysql_dump_file(sb: Sandbox, name: str = "snap"):
    return sb.path(f"backups/{sb.db.name}.{name}.sql")


def hold_mysql_transaction(sb: Sandbox):
    """A real second connection with a transaction open that has read oldapp_car (a metadata lock on it)."""
    import MySQLdb

    from helpers.notebook.sandbox import _mysql_conninfo

    holder = MySQLdb.connect(**_mysql_conninfo(sb.db.url), autocommit=False)
    cursor = holder.cursor()
    cursor.execute("SELECT count(*) FROM oldapp_car")
    cursor.fetchall()
    return holder


@pytest.fixture
def snap(loaded):
    """The loaded sandbox with a backup 'snap' made, then one change (rentals deleted) after it."""
    sb = loaded
    sb.run("backup_database", "snap").check()
    backed_up = everything(sb)
    sb.query("DELETE FROM oldapp_rental")
    yield sb, backed_up
    sb._close_connection()
    if sb.backend == "postgresql":
        with pg_admin(sb) as admin:
            for name in pg_databases(sb):
                if name != sb.db.name:
                    admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    if sb.backend == "mysql":
        admin = mysql_admin(sb)
        try:
            for name in mysql_databases(sb):
                if name != sb.db.name:
                    admin.cursor().execute(f"DROP DATABASE IF EXISTS `{name}`")
        finally:
            admin.close()


def sqlite_backup_file(sb: Sandbox, name: str = "snap"):
    return sb.path(f"backups/db.sqlite3.{name}.bak")


def hold_sqlite_transaction(sb: Sandbox):
    """A real second connection with a read transaction open on the sandbox's database file."""
    import sqlite3

    holder = sqlite3.connect(sb.path("db.sqlite3"), isolation_level=None)
    holder.execute("BEGIN")
    holder.execute("SELECT count(*) FROM oldapp_car").fetchone()
    return holder


# --- backups live in a folder of their own that git ignores ----------------------------------


def test_sqlite_backups_go_to_an_ignored_folder_of_their_own(snap):
    sb, _ = snap
    if sb.backend != "sqlite":
        pytest.skip(SQLITE_ONLY)
    import subprocess

    assert sqlite_backup_file(sb).is_file()
    assert not list(sb.root.glob("*.bak")), "no loose backup next to the project's files"
    assert sb.path("backups/.gitignore").read_text().splitlines()[-1] == "*"
    subprocess.run(["git", "init", "-q", str(sb.root)], check=True)
    status = subprocess.run(
        ["git", "status", "--porcelain", "--untracked-files=all"], cwd=sb.root, capture_output=True,
        text=True, check=True,
    ).stdout
    assert "manage.py" in status  # git sees the project's files...
    assert "backups/" not in status and ".bak" not in status  # ...but not a backup


def test_the_backup_folder_can_be_chosen_in_the_settings(loaded):
    sb = loaded
    if sb.backend != "sqlite":
        pytest.skip(SQLITE_ONLY)
    settings_file = sb.path("mysite/settings.py")
    settings_file.write_text(settings_file.read_text() + '\nDB_BACKUP_DIR = BASE_DIR / "vault"\n')
    made = sb.run("backup_database", "snap")
    assert made.ok, made
    assert "vault/db.sqlite3.snap.bak" in made.stdout
    assert sb.path("vault/db.sqlite3.snap.bak").is_file()
    assert sb.path("vault/.gitignore").is_file()  # created by the backup, so ignored by git too
    assert not sb.path("backups").exists()
    sb.query("DELETE FROM oldapp_rental")
    sb.run("restore_database", "snap").check()
    assert sb.count("oldapp_rental") == 3


# --- a restore checks the backup first -------------------------------------------------------


def _spoil(path, how: str) -> None:
    import sqlite3

    data = path.read_bytes()
    if how == "empty":
        path.write_bytes(b"")
    elif how == "truncated":
        path.write_bytes(data[: len(data) // 2])
    elif how == "garbage":
        path.write_bytes(b"this is not a database\n" * 100)
    elif how == "damaged":  # readable, but one table's page is garbage
        with sqlite3.connect(path) as db:
            (page_size,) = db.execute("PRAGMA page_size").fetchone()
            (root,) = db.execute("SELECT rootpage FROM sqlite_master WHERE name = 'oldapp_rental'").fetchone()
        start = (root - 1) * page_size + 8
        path.write_bytes(data[:start] + b"\xab" * 400 + data[start + 400 :])
    elif how == "foreign":  # a healthy SQLite database, but not Django's
        path.unlink()
        with sqlite3.connect(path) as other:
            other.execute("CREATE TABLE notes (id integer primary key, text varchar)")
            other.execute("INSERT INTO notes (text) VALUES ('hello')")


@pytest.mark.parametrize(
    ("backend", "how", "message"),
    [
        ("sqlite", "empty", "is empty (0 bytes)"),
        ("sqlite", "truncated", "is not a complete SQLite database"),
        ("sqlite", "garbage", "is not a complete SQLite database"),
        ("sqlite", "damaged", "is damaged (SQLite's integrity check: On tree page"),
        ("sqlite", "foreign", "holds no Django database (no django_migrations table)"),
        ("mysql", "empty", "is empty (0 bytes)"),
        ("mysql", "truncated", "is not a complete dump (it does not end with '-- Dump completed')"),
        ("mysql", "edited", "does not match its checksum"),
        ("mysql", "no checksum", "has no checksum file"),
        ("mysql", "foreign", "holds no Django database (no django_migrations table)"),
        ("mysql", "fails to load", "could not be loaded (mariadb: ERROR"),
    ],
)
def test_a_spoiled_backup_file_is_refused_and_the_database_unchanged(snap, backend, how, message):
    """A SQLite backup file or a MySQL dump, spoiled in each way: the restore refuses it, changing nothing."""
    sb, _ = snap
    if sb.backend != backend:
        pytest.skip(SQLITE_ONLY if backend == "sqlite" else MYSQL_ONLY)
    if backend == "sqlite":
        _spoil(sqlite_backup_file(sb), how)
    else:
        _spoil_dump(sb, how)
    before = everything(sb)
    result = sb.run("restore_database", "snap")
    assert result.returncode == 1, result
    assert message in result.stderr and "nothing was changed" in result.stderr, result.stderr
    assert "Traceback" not in result.stderr
    assert everything(sb) == before
    if backend == "mysql":
        assert mysql_databases(sb) == [sb.db.name]  # no half-loaded copy left on the server


def test_the_library_raises_its_own_exception_types(snap):
    sb, _ = snap
    if sb.backend == "sqlite":
        _spoil(sqlite_backup_file(sb), "empty")
    elif sb.backend == "mysql":
        mysql_dump_file(sb).write_bytes(b"")
    else:
        with pg_admin(sb) as admin:
            admin.execute(f'DROP DATABASE "{sb.db.name}_bak_snap"')
            admin.execute(f'CREATE DATABASE "{sb.db.name}_bak_snap"')  # an empty database
    code = """
        from django.utils.connection import ConnectionDoesNotExist
        from helpers.backups.db_backup import BackupError, InvalidBackupError, UnknownDatabaseError, restore_database
        try:
            restore_database("snap")
        except InvalidBackupError as exc:
            print("invalid", isinstance(exc, BackupError), isinstance(exc, ValueError))
        try:
            restore_database("snap", using="nosuch")
        except UnknownDatabaseError as exc:
            print("unknown", isinstance(exc, ConnectionDoesNotExist), exc)
    """
    out = sb.shell(code)
    assert out.ok, out
    assert out.stdout.splitlines()[-2:] == [
        "invalid True True",
        "unknown True No database 'nosuch' in settings.DATABASES: the databases are 'default'; "
        "nothing was done.",
    ]


@pytest.mark.parametrize("how", ["empty database", "no connections allowed"])
def test_an_unhealthy_postgresql_backup_is_refused_and_the_database_unchanged(snap, how):
    sb, _ = snap
    if sb.backend != "postgresql":
        pytest.skip(PG_ONLY)
    backup = f"{sb.db.name}_bak_snap"
    with pg_admin(sb) as admin:
        if how == "empty database":
            admin.execute(f'DROP DATABASE "{backup}"')
            admin.execute(f'CREATE DATABASE "{backup}"')
        else:
            admin.execute(f'ALTER DATABASE "{backup}" ALLOW_CONNECTIONS false')
    before = everything(sb)
    result = sb.run("restore_database", "snap")
    assert result.returncode == 1, result
    expected = "holds no Django database" if how == "empty database" else "does not accept connections"
    assert expected in result.stderr and "nothing was changed" in result.stderr
    assert "Traceback" not in result.stderr
    assert everything(sb) == before
    assert pg_databases(sb) == sorted([sb.db.name, backup])


# --- other connections: a clear timeout, and Ctrl-C works ------------------------------------


def test_a_restore_while_another_connection_holds_a_transaction_times_out(snap):
    sb, _ = snap
    before = everything(sb)
    if sb.backend == "sqlite":
        holder = hold_sqlite_transaction(sb)
        expected = "is in use: another connection holds a transaction on it"
    elif sb.backend == "mysql":
        holder = hold_mysql_transaction(sb)
        expected = "is in use: another connection holds a transaction on it"
    else:
        import psycopg

        holder = psycopg.connect(sb.db.url)  # a transaction is open from the first query
        holder.execute("SELECT count(*) FROM oldapp_car").fetchone()
        expected = "1 other session connected"
    try:
        result = sb.run("restore_database", "snap", "--timeout", "1", timeout=120)
    finally:
        holder.rollback()
        holder.close()
    assert result.returncode == 1, result
    assert expected in result.stderr and "gave up after 1 s" in result.stderr, result.stderr
    assert "Waiting up to 1 s" in result.stderr
    assert "Traceback" not in result.stderr
    assert everything(sb) == before
    sb.run("restore_database", "snap").check()  # once the other connection is gone, it works
    assert sb.count("oldapp_rental") == 3


def _hold_pg_lock_on_backup(sb: Sandbox):
    """A second session holding, in an open transaction, a lock that CREATE DATABASE ... TEMPLATE needs."""
    import psycopg

    holder = psycopg.connect(sb.db.server_url)
    holder.execute(f'COMMENT ON DATABASE "{sb.db.name}_bak_snap" IS \'held\'')
    return holder


def test_a_postgresql_restore_blocked_by_a_lock_times_out_and_changes_nothing(snap):
    sb, _ = snap
    if sb.backend != "postgresql":
        pytest.skip(PG_ONLY)
    before = everything(sb)
    holder = _hold_pg_lock_on_backup(sb)
    try:
        result = sb.run("restore_database", "snap", "--timeout", "1", timeout=120)
    finally:
        holder.rollback()
        holder.close()
    assert result.returncode == 1, result
    assert "lock timeout" in result.stderr and "it was left as it was" in result.stderr, result.stderr
    assert everything(sb) == before
    assert pg_databases(sb) == sorted([sb.db.name, f"{sb.db.name}_bak_snap"])


def _start_restore(sb: Sandbox, *args: str):
    import subprocess
    import sys

    return subprocess.Popen(
        [sys.executable, "manage.py", "restore_database", "snap", *args], cwd=sb.root, env=sb.env,
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )


def _wait_for_pg_create(sb: Sandbox) -> int:
    """The server pid of the restore's CREATE DATABASE once it waits for its lock."""
    import time

    with pg_admin(sb) as admin:
        for _ in range(600):
            row = admin.execute(
                "SELECT pid FROM pg_stat_activity WHERE query LIKE 'CREATE DATABASE%%' "
                "AND wait_event_type = 'Lock' AND query LIKE %s",
                [f"%{sb.db.name}_bak_snap%"],
            ).fetchone()
            if row:
                return row[0]
            time.sleep(0.1)
    raise AssertionError("the restore never reached CREATE DATABASE")


def test_ctrl_c_stops_a_waiting_restore_and_changes_nothing(snap):
    import signal

    sb, _ = snap
    before = everything(sb)
    holder = {"sqlite": hold_sqlite_transaction, "mysql": hold_mysql_transaction}.get(
        sb.backend, _hold_pg_lock_on_backup
    )(sb)
    try:
        proc = _start_restore(sb, "--timeout", "600")
        if sb.backend in ("sqlite", "mysql"):
            import select

            assert select.select([proc.stderr], [], [], 60)[0], "the restore never said it was waiting"
            assert "Waiting up to 600 s" in proc.stderr.readline()
        else:
            _wait_for_pg_create(sb)
        proc.send_signal(signal.SIGINT)
        _out, err = proc.communicate(timeout=60)  # without the fix: stuck until the lock goes
    finally:
        holder.rollback()
        holder.close()
    assert proc.returncode == 1, err
    assert "Interrupted: nothing was restored; the database is as it was." in err
    assert everything(sb) == before
    if sb.backend == "mysql":  # and the copy it was loading is gone
        assert mysql_databases(sb) == [sb.db.name]


# --- a restore killed halfway is cleaned up by the next one (PostgreSQL) ----------------------


@pytest.mark.parametrize("orphan", ["cancelled", "completed"])
def test_a_killed_restore_is_cleaned_up_by_the_next_one(snap, orphan):
    """Kill -9 a restore in the middle of its copy; the next restore recovers and says how.

    The killed client's server process goes on with its CREATE DATABASE: it either fails
    (here: cancelled, as when the server notices the client is gone) and leaves the database
    moved aside with no database under its name, or completes and leaves the aside copy.
    """
    sb, backed_up = snap
    if sb.backend != "postgresql":
        pytest.skip(PG_ONLY)
    holder = _hold_pg_lock_on_backup(sb)
    try:
        proc = _start_restore(sb, "--timeout", "600")
        server_pid = _wait_for_pg_create(sb)
        proc.kill()
        proc.communicate(timeout=60)
        if orphan == "cancelled":
            with pg_admin(sb) as admin:
                admin.execute("SELECT pg_cancel_backend(%s)", [server_pid])
    finally:
        holder.rollback()
        holder.close()
    aside = f"{sb.db.name}_restoring"
    with pg_admin(sb) as admin:  # wait for the orphan statement to end
        for _ in range(600):
            if not admin.execute("SELECT 1 FROM pg_stat_activity WHERE pid = %s", [server_pid]).fetchone():
                break
            import time

            time.sleep(0.1)
    left = pg_databases(sb)
    assert aside in left
    assert (sb.db.name in left) is (orphan == "completed")

    result = sb.run("restore_database", "snap")
    assert result.ok, result
    # The sandbox shows its generated database name as <database> in command output.
    if orphan == "completed":
        assert "Removed <database>_restoring, left behind by an interrupted restore" in result.stderr
    else:
        assert "Put <database>_restoring back as <database>: an interrupted restore had moved it aside" in result.stderr
    assert pg_databases(sb) == sorted([sb.db.name, f"{sb.db.name}_bak_snap"])
    assert everything(sb) == backed_up


# --- an unknown --database is a clear error ---------------------------------------------------


@pytest.mark.parametrize(
    "args",
    [
        ["backup_database", "snap", "--database", "nosuch"],
        ["backup_database", "snap", "--delete", "--database", "nosuch"],
        ["restore_database", "snap", "--database", "nosuch"],
    ],
)
def test_an_unknown_database_alias_is_a_clear_error(snap, args):
    sb, _ = snap
    before = everything(sb)
    result = sb.run(*args)
    assert result.returncode == 1
    assert result.stderr.strip() == (
        "CommandError: No database 'nosuch' in settings.DATABASES: the databases are 'default'; "
        "nothing was done."
    )
    assert everything(sb) == before


# --- MySQL: a dump file with its checksum, loaded aside, swapped in with one RENAME TABLE -----


def _rewrite_checksum(sb: Sandbox) -> None:
    """Make the checksum match the (changed) dump again: only the other checks can then refuse it."""
    dump = mysql_dump_file(sb)
    digest = hashlib.sha256(dump.read_bytes()).hexdigest()
    dump.with_name(dump.name + ".sha256").write_text(f"{digest}  {dump.name}\n")


def _spoil_dump(sb: Sandbox, how: str) -> None:
    dump = mysql_dump_file(sb)
    data = dump.read_bytes()
    if how == "empty":
        dump.write_bytes(b"")
    elif how == "truncated":  # a dump cut short, its checksum made to match: no last line
        dump.write_bytes(data[: len(data) // 2])
        _rewrite_checksum(sb)
    elif how == "edited":  # one value changed after the backup: the checksum tells
        dump.write_bytes(re.sub(rb"(INSERT INTO `oldapp_rental` VALUES\s*\()", rb"\g<1>9", data, count=1))
        assert dump.read_bytes() != data
    elif how == "no checksum":
        dump.with_name(dump.name + ".sha256").unlink()
    elif how == "foreign":  # a complete dump, but of a database without Django's table
        text = data.decode()
        start = text.index("--\n-- Table structure for table `django_migrations`")
        end = text.index("--\n-- Table structure for table", start + 10)
        dump.write_bytes((text[:start] + text[end:]).encode())
        _rewrite_checksum(sb)
    elif how == "fails to load":  # complete and checksummed, but a statement in the middle fails
        dump.write_bytes(data.replace(b"INSERT INTO `oldapp_rental` VALUES", b"INSERT INTO `oldapp_nosuch` VALUES", 1))
        _rewrite_checksum(sb)


def test_mysql_backups_are_a_dump_and_its_checksum_in_an_ignored_folder(snap):
    sb, _ = snap
    if sb.backend != "mysql":
        pytest.skip(MYSQL_ONLY)
    dump = mysql_dump_file(sb)
    text = dump.read_text()
    assert text.rstrip().splitlines()[-1].startswith("-- Dump completed")
    assert "CREATE TABLE `oldapp_rental`" in text and "INSERT INTO `oldapp_rental` VALUES" in text
    digest, name = dump.with_name(dump.name + ".sha256").read_text().split()
    assert (digest, name) == (hashlib.sha256(dump.read_bytes()).hexdigest(), dump.name)
    assert sb.path("backups/.gitignore").read_text().splitlines()[-1] == "*"
    assert mysql_databases(sb) == [sb.db.name]  # a file, not a database on the server


def test_a_mysql_database_with_a_view_is_refused_before_anything_changes(snap):
    sb, _ = snap
    if sb.backend != "mysql":
        pytest.skip(MYSQL_ONLY)
    sb.query("CREATE VIEW cheap_cars AS SELECT * FROM oldapp_car")
    before = everything(sb)
    result = sb.run("restore_database", "snap")
    assert result.returncode == 1, result
    assert "holds view cheap_cars" in result.stderr and "cannot move views or triggers" in result.stderr
    assert "nothing was changed" in result.stderr
    assert everything(sb) == before
    assert mysql_databases(sb) == [sb.db.name]


def _mysql_orphan_rename(sb: Sandbox) -> int | None:
    """The server connection still running the killed restore's RENAME TABLE, if any."""
    admin = mysql_admin(sb)
    try:
        cursor = admin.cursor()
        cursor.execute(
            "SELECT id FROM information_schema.processlist WHERE info LIKE 'RENAME TABLE%%' AND info LIKE %s",
            [f"%{sb.db.name}_restoring%"],
        )
        row = cursor.fetchone()
        return int(row[0]) if row else None
    finally:
        admin.close()


@pytest.mark.parametrize("orphan", ["cancelled", "completed"])
def test_a_killed_mysql_restore_is_cleaned_up_by_the_next_one(snap, orphan):
    """Kill -9 a restore while its swap waits for a lock; the next restore cleans up and says how.

    The swap is one atomic RENAME TABLE, so the database is whole either way: the killed
    client's statement is cancelled (the loaded copy <db>_restoring is left) or completes
    once the lock goes (the replaced tables are left in <db>_replaced).
    """
    import time

    sb, backed_up = snap
    if sb.backend != "mysql":
        pytest.skip(MYSQL_ONLY)
    changed = everything(sb)
    for _attempt in range(5):  # "completed" needs the orphan still waiting when the lock goes
        holder = hold_mysql_transaction(sb)
        try:
            proc = _start_restore(sb, "--timeout", "600")
            for _ in range(600):
                pid = _mysql_orphan_rename(sb)
                if pid:
                    break
                time.sleep(0.05)
            assert pid, "the restore never reached its RENAME TABLE"
            proc.kill()
            proc.communicate(timeout=60)
            if orphan == "cancelled":
                admin = mysql_admin(sb)
                try:
                    admin.cursor().execute(f"KILL QUERY {pid}")
                finally:
                    admin.close()
        finally:
            holder.rollback()
            holder.close()
        for _ in range(600):
            if _mysql_orphan_rename(sb) is None:
                break
            time.sleep(0.05)
        restored = everything(sb) == backed_up
        if restored == (orphan == "completed"):
            break
        sb.run("restore_database", "snap").check()  # lost the race: start again from the change
        sb.query("DELETE FROM oldapp_rental")
    assert everything(sb) == (backed_up if orphan == "completed" else changed)  # whole either way
    assert f"{sb.db.name}_restoring" in mysql_databases(sb)

    result = sb.run("restore_database", "snap")
    assert result.ok, result
    if orphan == "completed":
        assert "Removed <database>_replaced, left behind by an interrupted restore" in result.stderr
    else:
        assert "Removed <database>_restoring, left behind by an interrupted restore" in result.stderr
    assert mysql_databases(sb) == [sb.db.name]
    assert everything(sb) == backed_up


def test_a_mysql_backup_holding_a_view_is_refused_before_anything_changes(loaded):
    """The view is found in the loaded copy (<db>_restoring), which is dropped; the database is untouched.

    Catches: swapping the tables in and losing the view silently (RENAME TABLE cannot move it).
    """
    sb = loaded
    if sb.backend != "mysql":
        pytest.skip(MYSQL_ONLY)
    sb.query("CREATE VIEW cheap_cars AS SELECT * FROM oldapp_car")
    sb.run("backup_database", "snap").check()  # the dump is complete: it holds the view
    sb.query("DROP VIEW cheap_cars")
    sb.query("DELETE FROM oldapp_rental")
    before = everything(sb)
    result = sb.run("restore_database", "snap")
    assert result.returncode == 1, result
    assert "backups/<database>.snap.sql holds view cheap_cars" in result.stderr, result.stderr
    assert "nothing was changed" in result.stderr and "Traceback" not in result.stderr
    assert everything(sb) == before
    assert mysql_databases(sb) == [sb.db.name]
