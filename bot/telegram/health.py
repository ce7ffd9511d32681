"""`GET /healthz` on the webhook server: `kbbot health`, answered by the running bot over HTTP.

In webhook mode a load balancer or monitoring system probes each worker over HTTP, so the bot
answers the same check as `kbbot health` (bot.health) on the port it already serves Telegram
on, plus one thing only the running process knows: whether its background log writer is
keeping up. 200 and "ok: ..." when healthy; 503 and the one-line reason otherwise.

PTB builds its tornado webhook application inside `Updater.start_webhook` and offers no hook to
add routes, so the route is added to that application once it is listening: a JobQueue job
runs when the Application starts, which `run_webhook` does after the server is up. Reaching
the application goes through two private attributes of PTB's `Updater`; `add_health_route`
says so in the log if a PTB upgrade moved them, and tests/test_health.py fails on it.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

import tornado.web
from telegram.ext import Application

from bot.health import Check, Health, check
from bot.telegram.state import STATE_KEY, BotState, Context, state_of

log = logging.getLogger(__name__)

HEALTH_PATH = "/healthz"
AnyApplication = Application[Any, Any, Any, Any, Any, Any]


def running_health(state: BotState) -> Health:
    """`kbbot health`'s checks against the served knowledge base, plus the log writer's state.

    Blocking (it reads files and opens the database): call it in a thread.
    """
    health = check(state.config, served=state.engine.kb)
    queue = state.questions
    if queue is None:
        writer = Check("log writer", False, "the question log is not open")
    elif not queue.available:
        writer = Check(
            "log writer", False, f"failing; {queue.pending} question(s) kept in memory, retrying"
        )
    else:
        writer = Check("log writer", True, f"{queue.pending} waiting")
    return Health((*health.checks, writer))


class HealthHandler(tornado.web.RequestHandler):
    """Answers GET and HEAD with the running bot's health; never caches."""

    SUPPORTED_METHODS = ("GET", "HEAD")

    def initialize(self, state: BotState) -> None:
        self.state = state

    async def _probe(self) -> str:
        health = await asyncio.to_thread(running_health, self.state)
        self.set_status(200 if health.ok else 503)
        self.set_header("Content-Type", "text/plain; charset=utf-8")
        self.set_header("Cache-Control", "no-store")
        return f"{'ok' if health.ok else 'unhealthy'}: {health.summary()}\n"

    async def get(self) -> None:
        self.finish(await self._probe())

    async def head(self) -> None:
        await self._probe()
        self.finish()


def add_health_route(app: AnyApplication) -> bool:
    """Add `HEALTH_PATH` to the running webhook server; False (and a warning) if there is none."""
    server = getattr(app.updater, "_httpd", None)  # PTB's WebhookServer, once listening
    web_app = getattr(getattr(server, "_http_server", None), "request_callback", None)
    if not isinstance(web_app, tornado.web.Application):
        log.warning("no webhook server to add %s to: the HTTP health check is off", HEALTH_PATH)
        return False
    state = app.bot_data[STATE_KEY]
    web_app.add_handlers(r".*", [(HEALTH_PATH, HealthHandler, {"state": state})])
    log.debug("health check at %s on the webhook server", HEALTH_PATH)
    return True


async def _attach(context: Context) -> None:
    state_of(context)  # fails loudly if this is not the kbbot Application
    add_health_route(context.application)


def schedule_health_route(app: AnyApplication) -> None:
    """From post_init: in webhook mode, add the health route as soon as the Application starts.

    The job may not run until after setWebhook (which can be slow, and retried), so it must run
    however late it is: APScheduler would otherwise drop it as misfired after one second.
    """
    state = app.bot_data.get(STATE_KEY)
    if not isinstance(state, BotState) or not state.config.webhook_url:
        return
    if app.job_queue is None:
        log.warning("no JobQueue: the HTTP health check is off")
        return
    app.job_queue.run_once(_attach, when=0, job_kwargs={"misfire_grace_time": None})
