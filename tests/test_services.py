"""The redis_url and postgres_url fixtures give real, working servers."""

import redis
import sqlalchemy as sa


def test_redis_url_reaches_a_redis_server_that_stores_values(redis_url):
    client = redis.Redis.from_url(redis_url)

    client.set("petclf:test", "stored")

    assert redis.Redis.from_url(redis_url).get("petclf:test") == b"stored"
    assert client.info("server")["redis_version"]
    client.delete("petclf:test")


def test_postgres_url_reaches_postgresql_through_psycopg(postgres_url):
    engine = sa.create_engine(postgres_url)
    try:
        with engine.connect() as connection:
            assert connection.execute(sa.text("SELECT 1")).scalar_one() == 1
            assert (
                connection.execute(sa.text("SELECT version()"))
                .scalar_one()
                .startswith("PostgreSQL")
            )
        assert engine.dialect.name == "postgresql" and engine.dialect.driver == "psycopg"
    finally:
        engine.dispose()


def test_postgres_url_keeps_a_table_across_connections(postgres_url):
    metadata = sa.MetaData()
    pets = sa.Table(
        "services_test_pets",
        metadata,
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("label", sa.Text),
    )
    engine = sa.create_engine(postgres_url)
    try:
        metadata.create_all(engine)
        with engine.begin() as connection:
            connection.execute(pets.insert(), [{"label": "cat"}, {"label": "dog"}])
        engine.dispose()  # the rows must come back over a fresh connection, from the server

        with engine.connect() as connection:
            assert connection.execute(
                sa.select(pets.c.label).order_by(pets.c.id)
            ).scalars().all() == ["cat", "dog"]
    finally:
        metadata.drop_all(engine)
        engine.dispose()
