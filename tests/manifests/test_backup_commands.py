"""The cluster backup's command lines, run for real: the same file the playbooks run.

roles/platform_backup/files/backup-commands.sh is what backup.yml and restore.yml execute
(`sh -c "$(cat script)" backup-commands ...` inside the PostgreSQL pod for pg-dump/pg-restore,
on the control machine for the rest). Here it runs against a throw-away PostgreSQL from the
Debian package and moto's S3 server, with the rclone remote rendered from the role's own task
file. Needs postgresql and rclone (scripts/system-packages.sh).
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import boto3
import jinja2
import pytest
import yaml

from testsupport.postgres import cluster
from testsupport.postgres import pg_bin as _pg_bin
from testsupport.servers import free_port

from .conftest import REPO

pytestmark = pytest.mark.integration

ROLE = REPO / "roles" / "platform_backup"
SCRIPT = (ROLE / "files" / "backup-commands.sh").read_text()
SUPERUSER_PASSWORD = "backup-test-superuser"


def commands(
    *args: str, env: dict[str, str], stdin=None, stdout=None
) -> subprocess.CompletedProcess:
    """The script run the way the role runs it: its text through `sh -c`."""
    # rclone cannot use a custom CA bundle with its HTTP transport; this machine's environment
    # may set one for other programs (the S3 server here is plain HTTP anyway).
    inherited = {k: v for k, v in os.environ.items() if k != "AWS_CA_BUNDLE"}
    return subprocess.run(
        ["sh", "-c", SCRIPT, "backup-commands", *args],
        env={**inherited, **env},
        stdin=stdin,
        stdout=stdout if stdout is not None else subprocess.PIPE,
        stderr=subprocess.PIPE,
        timeout=300,
        check=False,
    )


@pytest.fixture(scope="module")
def postgres():
    port = free_port()
    env = {
        "PATH": f"{Path(_pg_bin('pg_dump')).parent}{os.pathsep}{os.environ['PATH']}",
        "PGHOST": "127.0.0.1",
        "PGPORT": str(port),
        "PGUSER": "postgres",
        "PGPASSWORD": SUPERUSER_PASSWORD,
    }
    with cluster(SUPERUSER_PASSWORD, "127.0.0.1", port):
        yield env


def psql(env: dict[str, str], database: str, sql: str) -> str:
    result = subprocess.run(
        [_pg_bin("psql"), "-v", "ON_ERROR_STOP=1", "-Atq", "-d", database, "-c", sql],
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    return result.stdout


PLATFORM_DATA = {
    "airflow": """
        CREATE TABLE dag_run (id serial PRIMARY KEY, run_id text UNIQUE, state text, conf jsonb);
        INSERT INTO dag_run (run_id, state, conf)
          SELECT 'scheduled__' || n, CASE WHEN n % 7 = 0 THEN 'failed' ELSE 'success' END,
                 jsonb_build_object('group_number', n % 10)
          FROM generate_series(1, 5000) AS n;
        CREATE INDEX dag_run_state ON dag_run (state);
        CREATE VIEW failed_runs AS SELECT run_id FROM dag_run WHERE state = 'failed';
    """,
    "mlflow": """
        CREATE TABLE model_versions (name text, version int, tags jsonb, blob bytea,
                                     PRIMARY KEY (name, version));
        INSERT INTO model_versions
          SELECT 'house-price', n, jsonb_build_object('decision', 'promoted', 'n', n),
                 decode(md5(n::text), 'hex')
          FROM generate_series(1, 10) AS n;
        CREATE TABLE registered_model_aliases (alias text PRIMARY KEY, version int);
        INSERT INTO registered_model_aliases VALUES ('champion', 7);
    """,
}
CONTENT = {
    "airflow": "SELECT md5(string_agg(run_id || state || conf::text, ',' ORDER BY id)), "
    "count(*), (SELECT count(*) FROM failed_runs), (SELECT last_value FROM dag_run_id_seq) "
    "FROM dag_run",
    "mlflow": "SELECT md5(string_agg(version || tags::text || encode(blob, 'hex'), ',' "
    "ORDER BY version)), (SELECT version FROM registered_model_aliases) FROM model_versions",
}


def fresh_platform_databases(env: dict[str, str]) -> None:
    """What a freshly installed platform has: the bootstrap's roles and databases, migrated."""
    for name in PLATFORM_DATA:
        psql(env, "postgres", f"DROP DATABASE IF EXISTS {name}")
        psql(env, "postgres", f"CREATE DATABASE {name} OWNER {name}")
    psql(env, "airflow", "SET ROLE airflow; CREATE TABLE dag_run (id serial PRIMARY KEY, x int)")


def test_pg_dump_and_restore_round_trip_into_a_fresh_platform(postgres, tmp_path):
    for name, sql in PLATFORM_DATA.items():
        psql(postgres, "postgres", f"CREATE ROLE {name} LOGIN PASSWORD 'x'")
        psql(postgres, "postgres", f"CREATE DATABASE {name} OWNER {name}")
        psql(postgres, name, f"SET ROLE {name}; {sql}")
    before = {name: psql(postgres, name, query) for name, query in CONTENT.items()}

    dumps = {}
    for name in PLATFORM_DATA:
        dumps[name] = tmp_path / f"{name}.dump"
        with dumps[name].open("wb") as out:
            result = commands("pg-dump", name, env=postgres, stdout=out)
        assert result.returncode == 0, result.stderr
        assert dumps[name].read_bytes()[:5] == b"PGDMP"  # custom format

    fresh_platform_databases(postgres)
    assert (
        psql(
            postgres, "mlflow", "SELECT count(*) FROM pg_tables WHERE tablename = 'model_versions'"
        )
        == "0\n"
    )
    for name, dump in dumps.items():
        with dump.open("rb") as source:
            result = commands("pg-restore", name, env=postgres, stdin=source)
        assert result.returncode == 0, result.stderr.decode()
    after = {name: psql(postgres, name, query) for name, query in CONTENT.items()}
    assert after == before
    assert (
        psql(postgres, "airflow", "SELECT tableowner FROM pg_tables WHERE tablename='dag_run'")
        == "airflow\n"
    )

    # A truncated dump is refused as a whole: one transaction, nothing half-restored.
    truncated = tmp_path / "truncated.dump"
    data = dumps["airflow"].read_bytes()
    truncated.write_bytes(data[: len(data) * 2 // 3])
    with truncated.open("rb") as source:
        result = commands("pg-restore", "airflow", env=postgres, stdin=source)
    assert result.returncode != 0
    assert psql(postgres, "airflow", CONTENT["airflow"]) == before["airflow"]


def platform_remote(s3_url: str) -> dict[str, str]:
    """The rclone remote exactly as the role's pre_checks.yml defines it, rendered."""
    tasks = yaml.safe_load((ROLE / "tasks" / "pre_checks.yml").read_text())
    (facts,) = [t for t in tasks if t["name"] == "Remember the commands every task runs"]
    remote = facts["ansible.builtin.set_fact"]["_platform_backup_platform_remote"]
    variables = {
        "platform_backup_s3_forward_port": s3_url.rsplit(":", 1)[1],
        "_platform_scheme": s3_url.split(":", 1)[0],
        "platform_secrets_values": {"s3_access_key": "testing", "s3_secret_key": "testing"},
    }
    return {k: jinja2.Template(v).render(**variables) for k, v in remote.items()}


def bucket_objects(s3, bucket: str) -> dict[str, bytes]:
    listing = s3.list_objects_v2(Bucket=bucket).get("Contents", [])
    return {o["Key"]: s3.get_object(Bucket=bucket, Key=o["Key"])["Body"].read() for o in listing}


def test_bucket_copy_round_trip_with_a_manifest_that_catches_changes(s3_url, tmp_path):
    env = {**platform_remote(s3_url), "RCLONE_CONFIG": str(tmp_path / "no-rclone.conf")}
    assert env["RCLONE_CONFIG_PLATFORM_ENDPOINT"] == s3_url
    s3 = boto3.client(
        "s3",
        endpoint_url=s3_url,
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
        region_name="us-east-1",
    )
    s3.create_bucket(Bucket="house-prices")
    objects = {
        "raw/group=1/day=Tuesday/batch=0001.parquet": os.urandom(3_000_000),
        "clean/group=1/day=Tuesday/batch=0001.parquet": os.urandom(20_000),
        "reports/drift/group=1/batch=0001.json": b'{"dataset_drift": false}',
    }
    for key, body in objects.items():
        s3.put_object(Bucket="house-prices", Key=key, Body=body)

    backup = tmp_path / "backup"
    result = commands("bucket-copy", "platform:house-prices", f"{backup}/s3/house-prices", env=env)
    assert result.returncode == 0, result.stderr
    for key, body in objects.items():
        assert (backup / "s3" / "house-prices" / key).read_bytes() == body
    assert commands("manifest", str(backup), env=env).returncode == 0
    listed = (backup / "MANIFEST.sha256").read_text().splitlines()
    assert len(listed) == 3 and all(line.split("  ")[1].startswith("./s3/") for line in listed)
    assert commands("verify", str(backup), env=env).returncode == 0

    # Restore into the fresh platform's empty bucket.
    for key in objects:
        s3.delete_object(Bucket="house-prices", Key=key)
    assert bucket_objects(s3, "house-prices") == {}
    result = commands("bucket-copy", f"{backup}/s3/house-prices", "platform:house-prices", env=env)
    assert result.returncode == 0, result.stderr
    assert bucket_objects(s3, "house-prices") == objects

    # An empty bucket goes out and back as an empty directory.
    s3.create_bucket(Bucket="mlflow-artifacts")
    empty = backup / "s3" / "mlflow-artifacts"
    result = commands("bucket-copy", "platform:mlflow-artifacts", str(empty), env=env)
    assert result.returncode == 0, result.stderr
    assert empty.is_dir() and not any(empty.iterdir())
    result = commands("bucket-copy", str(empty), "platform:mlflow-artifacts", env=env)
    assert result.returncode == 0, result.stderr

    # The manifest catches a changed file, a file it does not list, and a missing manifest.
    changed = backup / "s3" / "house-prices" / "reports/drift/group=1/batch=0001.json"
    changed.write_bytes(b'{"dataset_drift": true}')
    result = commands("verify", str(backup), env=env)
    assert result.returncode != 0 and b"FAILED" in result.stdout + result.stderr
    changed.write_bytes(objects["reports/drift/group=1/batch=0001.json"])
    (backup / "s3" / "extra").write_bytes(b"x")
    result = commands("verify", str(backup), env=env)
    assert result.returncode != 0 and b"./s3/extra" in result.stderr
    (backup / "s3" / "extra").unlink()
    assert commands("verify", str(backup), env=env).returncode == 0
    (backup / "MANIFEST.sha256").unlink()
    result = commands("verify", str(backup), env=env)
    assert result.returncode != 0 and b"not a complete backup" in result.stderr


def test_every_platform_database_is_backed_up():
    defaults = yaml.safe_load((ROLE / "defaults" / "main.yml").read_text())
    databases = yaml.safe_load((REPO / "roles/postgresql/defaults/main.yml").read_text())
    expected = [db["name"] for db in databases["postgresql_databases"]]
    assert defaults["platform_backup_databases"] == expected
