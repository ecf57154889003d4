"""The ASGI application and `xiangzhu serve`.

`create_app(settings)` builds the services, mounts the REST channel, `/healthz`, `/metrics`
and every extension module in EXTENSIONS (each exposes `mount(app, services)` and may add
routes, register channel adapters and start/stop hooks). The lifespan refuses to start
on a schema that is behind, then starts the adapters, the hooks and the outbox sender.
"""
from __future__ import annotations

import asyncio
import gc
import logging
from collections.abc import Sequence
from contextlib import asynccontextmanager
from types import ModuleType

import click
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, PlainTextResponse
from sqlalchemy import func, select, text
from sqlalchemy.engine import make_url

from bot import api, gazetteer, scheduler, web, web_flows
from bot.channels import rest, telegram, wechat
from bot.cli_session import exit_unless_schema_current
from bot.config import Settings, get_settings
from bot.dispatcher import Overloaded
from storage.db import is_db_unavailable
from vocab.errors import DatabaseUnavailable
from bot.metrics import CONTENT_TYPE
from bot.services import Services, build_services
from storage import migrate
from storage import outbox as outbox_store
from storage.models import Timer

__all__ = ["EXTENSIONS", "XiangzhuApp", "create_app", "serve_command"]

log = logging.getLogger("xiangzhu.app")

EXTENSIONS = (gazetteer, telegram, wechat, api, web, web_flows, scheduler)


class XiangzhuApp(FastAPI):
    """FastAPI, with the busiest route — the REST webhook — answered before FastAPI's routing
    and middleware (`rest.fast_webhook`); every other request goes the usual way."""

    fast_routes: dict[tuple[str, str], object] = {}

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] == "http":
            fast = self.fast_routes.get((scope["method"], scope["path"]))
            if fast is not None:
                await fast(scope, receive, send)
                return
        await super().__call__(scope, receive, send)


def create_app(
    settings: Settings | None = None, *, services: Services | None = None, extensions: Sequence[ModuleType] | None = None
) -> FastAPI:
    """The application. `extensions` (modules with `mount(app, services)`) defaults to
    EXTENSIONS; tests of one part may pass a shorter list."""
    if settings is None:
        settings = services.settings if services is not None else get_settings()
    check_schema = services is None
    if services is None:
        services = build_services(settings)

    @asynccontextmanager
    async def lifespan(app: FastAPI):
        if check_schema:
            await asyncio.to_thread(migrate.check_current, settings.database_url)
        await services.start()
        # The model, flows and indexes loaded at start-up live as long as the process: moving
        # them out of the collector's sight keeps full collections (latency spikes) short.
        gc.collect()
        gc.freeze()
        try:
            yield
        finally:
            await services.stop()

    app = XiangzhuApp(title="Xiangzhu 乡助", lifespan=lifespan, docs_url=None, redoc_url=None)
    app.state.services = services
    app.fast_routes = {("POST", rest.WEBHOOK): rest.fast_webhook(services)}

    @app.exception_handler(DatabaseUnavailable)
    async def _db_unavailable(request: Request, exc: DatabaseUnavailable):
        return JSONResponse(
            {"error": "数据库暂时不可用，请稍后重试 / database unavailable, retry later"},
            status_code=503,
            headers={"Retry-After": "2"},
        )

    @app.exception_handler(Overloaded)
    async def _overloaded(request: Request, exc: Overloaded):
        return JSONResponse(rest.BUSY[1], status_code=503, headers={"Retry-After": str(exc.retry_after)})

    @app.get("/healthz")
    async def healthz():
        try:
            async with services.db.session() as session:
                async with asyncio.timeout(5):
                    await session.execute(text("SELECT 1"))
        except Exception as exc:
            log.warning("health check: database unavailable: %s", exc)
            return JSONResponse(
                {"status": "unavailable", "database": "unavailable", "leader": services.leader_status()},
                status_code=503,
            )
        return {"status": "ok", "database": "ok", "leader": services.leader_status()}

    @app.get("/metrics")
    async def metrics():
        backlog = timers_due = None
        try:
            async with services.db.session() as session:
                backlog = await outbox_store.backlog(session)
                timers_due = (
                    await session.execute(
                        select(func.count()).select_from(Timer).where(
                            Timer.state == "pending", Timer.due_at <= services.clock())
                    )
                ).scalar_one()
        except Exception as exc:
            if not is_db_unavailable(exc):
                raise
            log.warning("metrics: database unavailable: %s", exc)
        return PlainTextResponse(
            services.metrics.render(outbox_backlog=backlog, timers_due=timers_due), media_type=CONTENT_TYPE
        )

    rest.mount(app, services)
    for module in EXTENSIONS if extensions is None else extensions:
        module.mount(app, services)
        services.extensions.append(module)
    return app


def _describe(settings: Settings, services: Services, host: str, port: int) -> str:
    db = make_url(settings.database_url).render_as_string(hide_password=True)
    base = f"http://{host}:{port}"
    lines = [
        "乡助 Xiangzhu",
        f"  REST      {base}/webhooks/rest/webhook   (token: {'on' if settings.rest_token else 'off'}; "
        f"callback: {'on' if settings.rest_callback_url else 'off'})",
        f"  outbox    {base}/webhooks/rest/outbox?sender=ID&after=CURSOR",
        f"  health    {base}/healthz    metrics {base}/metrics",
        f"  database  {db}",
    ]
    for channel in ("telegram", "wechat"):
        on = channel in services.channels
        lines.append(f"  {channel:<9} {'on' if on else 'off'}")
    others = [e.__name__ for e in services.extensions if not e.__name__.startswith("bot.channels.")]
    lines.append(f"  extensions {', '.join(others) if others else 'none'}")
    nlu = type(services.nlu).__module__ + "." + type(services.nlu).__name__
    handler = type(services.handler).__module__ + "." + type(services.handler).__name__
    lines.append(f"  nlu       {nlu}    dialogue {handler}")
    return "\n".join(lines)


def app_from_environment() -> FastAPI:
    """The application of one `xiangzhu serve --workers N` worker process (uvicorn imports it
    by name in each worker, which reads the same environment)."""
    from bot.logs import setup_logging

    settings = get_settings()
    setup_logging(settings)
    return create_app(settings)


@click.command("serve")
@click.option("--host", default=None, help="listen address (XIANGZHU_HOST, default 127.0.0.1)")
@click.option("--port", type=int, default=None, help="port (XIANGZHU_PORT, default 8000)")
@click.option("--workers", type=int, default=None,
              help="worker processes sharing the port (XIANGZHU_WORKERS, default 1; PostgreSQL only)")
def serve_command(host: str | None, port: int | None, workers: int | None) -> None:
    """运行机器人服务 / run the bot server (REST, channels, web, scheduler)."""
    import uvicorn

    from bot.logs import setup_logging

    settings = get_settings()
    setup_logging(settings)
    host = host or settings.host
    port = port or settings.port
    workers = workers if workers is not None else settings.workers
    if workers < 1:
        raise click.UsageError(f"--workers has value {workers}: use 1 or more")
    if workers > 1 and make_url(settings.database_url).get_backend_name() == "sqlite":
        raise click.UsageError(
            "SQLite has one writer, so it is served by one process: drop --workers, or use PostgreSQL "
            "(XIANGZHU_DATABASE_URL=postgresql+asyncpg://...)")
    exit_unless_schema_current(settings.database_url)
    # keep-alive 75 s (uvicorn's default is 5): a client reusing a connection the server has
    # just closed as idle loses that request, and webhook peers keep connections for long
    options = dict(host=host, port=port, log_config=None, access_log=False, lifespan="on",
                   timeout_graceful_shutdown=10, timeout_keep_alive=75)
    if workers > 1:
        click.echo(f"乡助 Xiangzhu: {workers} worker processes on http://{host}:{port} (one is the leader)")
        uvicorn.run("bot.app:app_from_environment", factory=True, workers=workers, **options)
        return
    app = create_app(settings)
    click.echo(_describe(settings, app.state.services, host, port))
    uvicorn.run(app, workers=1, **options)
